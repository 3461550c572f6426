// The worker's configuration, parsed once at boot; a bad value stops start-up naming the variable.
import { commonEnv, integer, outboundEnv, parseEnv, requireResendKey, resendEnv } from "@mailstate/runtime";
import { z } from "zod";

/** The worker's variables, each on its own (the CLI picks some of them). */
export const workerEnvFields = z.object({
  ...commonEnv,
  /** Jobs in flight at once in this process: the ceiling on a batch's size. */
  WORKER_CONCURRENCY: integer(1, 1_000).default(256),
  /**
   * BullMQ workers taking inbox jobs in this process, in parallel (each with its share of
   * WORKER_CONCURRENCY): one takes jobs from an idle queue one round trip at a time.
   */
  WORKER_INBOX_FETCHERS: integer(1, 64).default(4),
  /**
   * Inbox events reconciled together in one transaction, and how long a batch waits to fill on an
   * idle worker. At most WORKER_BATCHES_IN_FLIGHT transactions run at once: what arrives meanwhile
   * is the next batch, so batches grow under load rather than queueing on the same row locks.
   */
  WORKER_BATCH_SIZE: integer(1, 1_000).default(100),
  WORKER_BATCH_WAIT_MS: integer(0, 1_000).default(2),
  WORKER_BATCHES_IN_FLIGHT: integer(1, 64).default(1),
  /** How long a job stays locked to a worker that stops answering; a killed worker's jobs resume after it. */
  WORKER_LOCK_DURATION_MS: integer(2_000, 300_000).default(15_000),
  /** Transient bounces in a row that suppress an address. */
  SOFT_BOUNCE_THRESHOLD: integer(1, 100).default(3),
  /**
   * Park events of unknown, untagged email ids in Redis (one job per email id) until their send is
   * recorded. `false` for accounts where every send goes through the SDK: they are only logged.
   */
  PARK_UNTAGGED: z
    .enum(["true", "false"], { error: "must be true or false" })
    .transform((value) => value === "true")
    .default(true),
  /** Parked email ids (jobs in the unmatched queue) past which new ones are only logged in PostgreSQL. */
  PARK_MAX_EMAILS: integer(0, 10_000_000).default(100_000),
  /** Days that opens and clicks keep their IP address and user agent (engagement log and raw payload). */
  ENGAGEMENT_PII_DAYS: integer(1, 3_650).default(30),
  /**
   * Days that per-message data is kept (notifications, their events, outbound messages, resolved
   * dead letters); suppressions, the audit log, rollups and keys are kept for good.
   */
  RETENTION_DAYS: integer(1, 36_500).default(90),
  /** The port of the worker's `/metrics` and `/healthz` (0: none). */
  WORKER_METRICS_PORT: integer(0, 65_535).default(9464),
  ...resendEnv,
  ...outboundEnv,
  /** Outbound webhooks: the first retry's delay, doubling over 14 attempts (10 s: about a day in all). */
  OUTBOUND_RETRY_BASE_MS: integer(10, 3_600_000).default(10_000),
  /** An endpoint whose every delivery has failed for this long is disabled (a day by default). */
  OUTBOUND_DISABLE_AFTER_MS: integer(1_000, 30 * 86_400_000).default(86_400_000),
  /** How often the outbox relay moves committed messages to the webhooks queue. */
  OUTBOUND_RELAY_INTERVAL_MS: integer(50, 3_600_000).default(1_000),
});

const workerEnvSchema = workerEnvFields.superRefine(requireResendKey);

export type WorkerEnv = z.infer<typeof workerEnvSchema>;

export function loadWorkerEnv(source: NodeJS.ProcessEnv = process.env): WorkerEnv {
  return parseEnv(workerEnvSchema, source);
}
