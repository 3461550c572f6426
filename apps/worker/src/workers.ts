// One BullMQ worker per queue, each dispatching by job name to the handlers of the catalog.
import { ensurePartitions, type SqlPool } from "@mailstate/db";
import {
  backoffStrategy,
  createQueues,
  inboxLayoutsInUse,
  inboxShardQueue,
  inboxShardsOf,
  QUEUE_NAMES,
  type Queues,
  RETENTION,
  type RedisClient,
  recordInboxLayout,
  resendLimiter,
  upsertSchedules,
} from "@mailstate/queue";
import { createResendClient } from "@mailstate/resend-api";
import type { Logger } from "@mailstate/runtime";
import { bullmqTelemetry } from "@mailstate/tracing";
import { type Queue, Worker, type WorkerOptions } from "bullmq";
import { deadLetterFailedJob, sweepFailedInbox } from "./dead-letters.ts";
import type { WorkerEnv } from "./env.ts";
import { createProcessor } from "./handlers.ts";
import { createMaintenance, type Maintenance } from "./maintenance.ts";
import { createWorkerMetrics, type WorkerMetrics } from "./metrics.ts";
import { createWebhookDelivery } from "./outbound/deliver.ts";
import { startRelay } from "./outbound/relay.ts";
import { createReconciler, type Reconciler } from "./reconcile/reconciler.ts";
import { reconcilerRulesOf } from "./reconcile/rules-from-env.ts";
import { createResendJobs, type ResendJobs } from "./resend/jobs.ts";
import { scheduleSweeper } from "./resend/schedule.ts";

export interface WorkerDeps {
  env: Pick<
    WorkerEnv,
    | "QUEUE_PREFIX"
    | "INBOX_SHARDS"
    | "WORKER_CONCURRENCY"
    | "WORKER_INBOX_FETCHERS"
    | "SOFT_BOUNCE_THRESHOLD"
    | "SUPPRESSION_SCOPE"
    | "WORKER_LOCK_DURATION_MS"
    | "WORKER_BATCH_SIZE"
    | "WORKER_BATCH_WAIT_MS"
    | "WORKER_BATCHES_IN_FLIGHT"
    | "PARK_UNTAGGED"
    | "PARK_MAX_EMAILS"
    | "ENGAGEMENT_PII_DAYS"
    | "RETENTION_DAYS"
    | "RESEND_API_KEY"
    | "RESEND_BASE_URL"
    | "RESEND_API_RPS"
    | "RESEND_API_TIMEOUT_MS"
    | "SWEEPER_INTERVAL_MS"
    | "SWEEPER_STALE_AFTER_MS"
    | "RESEND_WEBHOOK_ID"
    | "RESEND_SUPPRESSION_SYNC"
    | "RESEND_AUDIENCE_ID"
    | "OUTBOUND_ALLOW_PRIVATE"
    | "OUTBOUND_RETRY_BASE_MS"
    | "OUTBOUND_DISABLE_AFTER_MS"
    | "OUTBOUND_RELAY_INTERVAL_MS"
  >;
  /** The worker's one connection to PostgreSQL: it holds no Prisma client. */
  sql: SqlPool;
  redis: RedisClient;
  logger: Logger;
  /** Where the workers count what they do; a registry of their own when not given. */
  metrics?: WorkerMetrics;
}

export interface RunningWorkers {
  /** The inbox's fetchers: BullMQ workers of every shard, sharing this process's batches. */
  inbox: Worker[];
  /** The inbox shards this process consumes: INBOX_SHARDS's, and those of every earlier count recorded. */
  inboxQueues: Queue[];
  unmatched: Worker;
  /** Scheduled housekeeping (the PII scrub, retention, the sweeper's pass), one job at a time. */
  maintenance: Worker;
  /** What the maintenance jobs last did (the last retention pass), for /metrics. */
  maintenanceJobs: Maintenance;
  /** Calls to Resend's API at RESEND_API_RPS; null without RESEND_API_KEY. */
  resend: Worker | null;
  /** Outbound webhooks to the applications' endpoints. */
  webhooks: Worker;
  queues: Queues;
  metrics: WorkerMetrics;
  /** Finish the jobs in hand, then stop. */
  close(): Promise<void>;
}

/** How often a worker moves failed inbox jobs that could not be dead-lettered when they failed. */
const DEAD_LETTER_SWEEP_MS = 60_000;

type Env = WorkerDeps["env"];
type Processor = ReturnType<typeof createProcessor>;
/** What every worker is built with; each queue's own options override some. */
type SharedOptions = ReturnType<typeof sharedOptions>;

/**
 * The inbox shards this process consumes: every shard any API wrote to (INBOX_SHARDS as it is and
 * as it was), so that jobs left in the shards of an earlier count drain here. A shard left empty
 * costs each fetcher one idle blocking read.
 */
async function inboxShardsInUse(redis: RedisClient, env: Env, queues: Queues): Promise<Queue[]> {
  await recordInboxLayout(redis, env.QUEUE_PREFIX, env.INBOX_SHARDS);
  const layouts = await inboxLayoutsInUse(redis, env.QUEUE_PREFIX, env.INBOX_SHARDS);
  return inboxShardsOf(env.QUEUE_PREFIX, layouts).map(
    (shard) =>
      queues.inboxShards.find((queue) => queue.name === shard.name && queue.opts.prefix === shard.prefix) ??
      inboxShardQueue(queues.inbox, shard),
  );
}

/** The reconciler, with this worker's suppression rules, parking bound and batch size. */
function reconcilerOf(
  env: Env,
  { sql, queues, logger, metrics }: { sql: SqlPool; queues: Queues; logger: Logger; metrics: WorkerMetrics },
): Reconciler {
  return createReconciler({
    sql,
    queues,
    logger,
    ...reconcilerRulesOf(env),
    metrics,
    batch: {
      maxSize: env.WORKER_BATCH_SIZE,
      maxWaitMs: env.WORKER_BATCH_WAIT_MS,
      maxInFlight: env.WORKER_BATCHES_IN_FLIGHT,
    },
  });
}

/** Calls to Resend's API; null without RESEND_API_KEY. */
function resendJobsOf(
  env: Env,
  deps: { sql: SqlPool; queues: Queues; reconciler: Reconciler; metrics: WorkerMetrics; logger: Logger },
): ResendJobs | null {
  if (!env.RESEND_API_KEY) return null;
  return createResendJobs({
    ...deps,
    client: createResendClient({
      apiKey: env.RESEND_API_KEY,
      baseUrl: env.RESEND_BASE_URL,
      timeoutMs: env.RESEND_API_TIMEOUT_MS,
    }),
    staleAfterMs: env.SWEEPER_STALE_AFTER_MS,
    webhookId: env.RESEND_WEBHOOK_ID,
  });
}

function sharedOptions(env: Env, redis: RedisClient) {
  return {
    connection: redis,
    prefix: env.QUEUE_PREFIX,
    concurrency: env.WORKER_CONCURRENCY,
    // A killed worker's jobs return to the queue once their lock lapses; a job may be orphaned by
    // several crashes in a row before it counts as failed (every step is idempotent).
    lockDuration: env.WORKER_LOCK_DURATION_MS,
    stalledInterval: Math.max(1_000, Math.floor(env.WORKER_LOCK_DURATION_MS / 3)),
    maxStalledCount: 20,
    // BullMQ's consumer spans (bullmq-otel), when tracing is on.
    ...bullmqTelemetry<WorkerOptions["telemetry"]>(),
    settings: { backoffStrategy },
  };
}

/**
 * The inbox's fetchers. A BullMQ worker takes jobs from an idle queue one round trip at a time, so
 * under a steady flow one fetcher bounds how fast jobs reach the batch. Several fetchers take them
 * in parallel, each with a share of the concurrency, and all feed the same batches.
 * With shards, each shard gets WORKER_INBOX_FETCHERS / shards of them (one at least), all feeding
 * the same batches: one reconcile transaction may hold events of several shards.
 */
function startInboxFetchers(env: Env, inboxQueues: Queue[], processor: Processor, options: SharedOptions): Worker[] {
  const fetchers = Math.min(env.WORKER_INBOX_FETCHERS, env.WORKER_CONCURRENCY);
  const perShard = Math.max(1, Math.round(fetchers / inboxQueues.length));
  return inboxQueues.flatMap((shard) =>
    Array.from(
      { length: perShard },
      () =>
        new Worker(shard.name, processor, {
          ...options,
          prefix: shard.opts.prefix ?? env.QUEUE_PREFIX,
          ...RETENTION.inbox,
          // An inbox job is traced only as part of the trace it carries (its batch's first webhook's,
          // when the API kept it): the API's sampler decides, once.
          ...bullmqTelemetry<WorkerOptions["telemetry"]>({ joinOnly: true }),
          concurrency: Math.max(1, Math.ceil(env.WORKER_CONCURRENCY / (perShard * inboxQueues.length))),
        }),
    ),
  );
}

/** The workers of the queues besides the inbox; `resend` only with RESEND_API_KEY. */
function startQueueWorkers(env: Env, processor: Processor, options: SharedOptions, withResend: boolean) {
  const unmatched = new Worker(QUEUE_NAMES.unmatched, processor, {
    ...options,
    ...RETENTION.unmatched,
    concurrency: 4,
  });
  // A scrub may run for minutes: a longer lock than the inbox's, so a busy run is not taken as stalled.
  const maintenance = new Worker(QUEUE_NAMES.maintenance, processor, {
    ...options,
    ...RETENTION.maintenance,
    concurrency: 1,
    lockDuration: Math.max(env.WORKER_LOCK_DURATION_MS, 60_000),
  });
  // One rate limiter for every call to Resend, shared through Redis by all workers and the CLI's
  // calls (rateLimitSlot): RESEND_API_RPS a second.
  const resend = withResend
    ? new Worker(QUEUE_NAMES.resend, processor, {
        ...options,
        ...RETENTION.resend,
        concurrency: Math.max(1, env.RESEND_API_RPS),
        limiter: resendLimiter(env.RESEND_API_RPS),
        // A call waits at most RESEND_API_TIMEOUT_MS; the lock outlasts it.
        lockDuration: Math.max(env.WORKER_LOCK_DURATION_MS, env.RESEND_API_TIMEOUT_MS * 2),
      })
    : null;
  // Endpoints answer slowly or not at all: many attempts in flight, each bounded by its timeout.
  const webhooks = new Worker(QUEUE_NAMES.webhooks, processor, {
    ...options,
    ...RETENTION.webhooks,
    concurrency: 32,
    lockDuration: Math.max(env.WORKER_LOCK_DURATION_MS, 30_000),
  });
  return { unmatched, maintenance, resend, webhooks };
}

/**
 * Failed inbox jobs go to the dead-letter table: each as it fails for good, and every
 * DEAD_LETTER_SWEEP_MS those PostgreSQL could not take then. Answers the sweep, to run it now.
 */
function deadLetterFailedInbox(
  inbox: Worker[],
  inboxQueues: Queue[],
  { sql, logger }: { sql: SqlPool; logger: Logger },
): { sweepNow: () => Promise<unknown>; timer: NodeJS.Timeout } {
  for (const fetcher of inbox) {
    fetcher.on("failed", (job, error) => {
      const final = job && (job.attemptsMade >= (job.opts.attempts ?? 1) || error.name === "UnrecoverableError");
      if (!job || !final) return;
      deadLetterFailedJob(sql, job).catch((deadLetterError: Error) =>
        logger.warn({ jobId: job.id, err: deadLetterError.message }, "dead letter not written yet: the sweep retries"),
      );
    });
  }
  const sweepNow = () =>
    sweepFailedInbox(sql, inboxQueues, logger).catch((error: Error) =>
      logger.warn({ err: error.message }, "dead-letter sweep failed"),
    );
  const timer = setInterval(sweepNow, DEAD_LETTER_SWEEP_MS);
  timer.unref();
  return { sweepNow, timer };
}

/** Every failed job is logged; a parked event still unmatched is routine until its last attempt. */
function logFailures(running: Worker[], logger: Logger): void {
  for (const worker of running) {
    worker.on("failed", (job, error) => {
      const final = job && job.attemptsMade >= (job.opts.attempts ?? 1);
      const level = error.name === "StillUnmatchedError" && !final ? "debug" : "warn";
      logger[level](
        { queue: worker.name, jobId: job?.id, attempt: job?.attemptsMade, final, err: error.message },
        "job failed",
      );
    });
    worker.on("error", (error) => logger.warn({ queue: worker.name, err: error.message }, "worker error"));
  }
}

export async function startWorkers({
  env,
  sql,
  redis,
  logger,
  metrics = createWorkerMetrics(),
}: WorkerDeps): Promise<RunningWorkers> {
  const queues = createQueues(redis, env.QUEUE_PREFIX, {}, { inboxShards: env.INBOX_SHARDS });
  const inboxQueues = await inboxShardsInUse(redis, env, queues);
  const reconciler = reconcilerOf(env, { sql, queues, logger, metrics });
  const maintenanceJobs = createMaintenance({
    sql,
    piiDays: env.ENGAGEMENT_PII_DAYS,
    retentionDays: env.RETENTION_DAYS,
    logger,
  });
  // Today's partitions and the next week's, before the first event comes; the hourly retention job
  // keeps them ahead. A table busy past the lock timeout is tried again at that job's next run.
  await ensurePartitions(sql).catch((error: Error) =>
    logger.warn({ err: error.message }, "event partitions not created yet: the retention job tries again"),
  );
  const resendJobs = resendJobsOf(env, { sql, queues, reconciler, metrics, logger });
  const relay = startRelay({
    sql,
    queues,
    logger,
    intervalMs: env.OUTBOUND_RELAY_INTERVAL_MS,
    retryBaseMs: env.OUTBOUND_RETRY_BASE_MS,
  });
  const deliverWebhook = createWebhookDelivery({
    sql,
    logger,
    metrics,
    allowPrivate: env.OUTBOUND_ALLOW_PRIVATE,
    disableAfterMs: env.OUTBOUND_DISABLE_AFTER_MS,
    onDelivered: relay.nudge,
  });
  const processor = createProcessor({
    sql,
    reconciler,
    maintenance: maintenanceJobs,
    resend: resendJobs,
    deliverWebhook,
  });
  const options = sharedOptions(env, redis);
  const inbox = startInboxFetchers(env, inboxQueues, processor, options);
  const { unmatched, maintenance, resend, webhooks } = startQueueWorkers(env, processor, options, resendJobs !== null);
  const sweep = deadLetterFailedInbox(inbox, inboxQueues, { sql, logger });
  const running = [...inbox, unmatched, maintenance, webhooks, ...(resend ? [resend] : [])];
  logFailures(running, logger);
  await Promise.all(running.map((worker) => worker.waitUntilReady()));
  await upsertSchedules(queues);
  await scheduleSweeper(queues, resendJobs ? env.SWEEPER_INTERVAL_MS : null);
  void sweep.sweepNow();
  const extraShards = inboxQueues.filter((queue) => !queues.inboxShards.includes(queue));
  return {
    inbox,
    inboxQueues,
    unmatched,
    maintenance,
    maintenanceJobs,
    resend,
    webhooks,
    queues,
    metrics,
    async close() {
      clearInterval(sweep.timer);
      await relay.stop();
      await Promise.all(running.map((worker) => worker.close()));
      await Promise.all([queues.close(), ...extraShards.map((queue) => queue.close())]);
    },
  };
}
