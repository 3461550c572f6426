// Typed producers over the catalog: the only way jobs are added.
import { Queue, type QueueOptions } from "bullmq";
import type { Redis } from "ioredis";
import {
  type InboxEventPayload,
  JOB_SCHEDULES,
  JOBS,
  type JobName,
  type JobPayload,
  jobIdFor,
  QUEUE_NAMES,
  type QueueName,
} from "./catalog.ts";

/** Entries each queue's event stream keeps (approximately: Redis trims it in whole blocks). */
const EVENT_STREAM_LENGTH = 500;

export interface Queues {
  inbox: Queue;
  unmatched: Queue;
  /** Scheduled housekeeping (JOB_SCHEDULES), one job at a time. */
  maintenance: Queue;
  /** Calls to Resend's API, behind one rate limiter. */
  resend: Queue;
  /** Outbound webhooks, one job per outbox message. */
  webhooks: Queue;
  close(): Promise<void>;
}

export function createQueues(connection: Redis, prefix: string, extra: Partial<QueueOptions> = {}): Queues {
  // BullMQ checks the server's version once per connection, and a check that fails is never retried.
  // On a fail-fast producer connection (no offline queue) one stalled INFO at startup would leave the
  // queues failing every add until a restart; the workers, whose connection waits, still check.
  const skipVersionCheck = connection.options.enableOfflineQueue === false;
  const make = (name: QueueName) =>
    new Queue(name, {
      connection,
      prefix,
      skipVersionCheck,
      // BullMQ's event stream (read by QueueEvents, which mailstate does not use) keeps 10,000
      // entries by default, ~1.5 MB per queue; a short history is all a person ever reads.
      streams: { events: { maxLen: EVENT_STREAM_LENGTH } },
      ...extra,
    });
  const inbox = make(QUEUE_NAMES.inbox);
  const unmatched = make(QUEUE_NAMES.unmatched);
  const maintenance = make(QUEUE_NAMES.maintenance);
  const resend = make(QUEUE_NAMES.resend);
  const webhooks = make(QUEUE_NAMES.webhooks);
  return {
    inbox,
    unmatched,
    maintenance,
    resend,
    webhooks,
    async close() {
      await Promise.all([inbox.close(), unmatched.close(), maintenance.close(), resend.close(), webhooks.close()]);
    },
  };
}

export function queueFor(queues: Queues, name: JobName): Queue {
  return queues[JOBS[name].queue];
}

/** Upsert the job scheduler of every scheduled job: idempotent, so every worker does it at start. */
export async function upsertSchedules(queues: Queues): Promise<void> {
  for (const [name, repeat] of Object.entries(JOB_SCHEDULES) as [keyof typeof JOB_SCHEDULES, { every: number }][]) {
    const { payload, options } = JOBS[name];
    await queueFor(queues, name).upsertJobScheduler(name, repeat, {
      name,
      data: payload.parse({}),
      opts: options,
    });
  }
}

/** Add a job by catalog name, validated against its payload schema, with its retry options. */
export async function addJob<N extends JobName>(
  queues: Queues,
  name: N,
  payload: JobPayload<N>,
  jobId: string,
  options: { delay?: number; priority?: number } = {},
) {
  const definition = JOBS[name];
  const data = definition.payload.parse(payload);
  return queueFor(queues, name).add(name, data, { ...definition.options, ...options, jobId });
}

/**
 * Verified webhooks into the inbox in one round trip, each job's id its svix-id: the API's hot
 * path. The payloads' type is the catalog's, and the route builds them from what it verified and
 * parsed itself, so they are not parsed again here (a parse copies the whole event, once per webhook).
 */
export async function addInboxEvents(queues: Queues, payloads: InboxEventPayload[]) {
  const { options } = JOBS["inbox.reconcile"];
  return queues.inbox.addBulk(
    payloads.map((data) => ({
      name: "inbox.reconcile",
      data,
      opts: { ...options, jobId: jobIdFor("event", data.svixId) },
    })),
  );
}

/** Many jobs of one catalog name in one round trip to Redis. */
export async function addJobs<N extends JobName>(
  queues: Queues,
  name: N,
  jobs: { payload: JobPayload<N>; jobId: string }[],
) {
  const definition = JOBS[name];
  return queueFor(queues, name).addBulk(
    jobs.map(({ payload, jobId }) => ({
      name,
      data: definition.payload.parse(payload),
      opts: { ...definition.options, jobId },
    })),
  );
}

export { jobIdFor };

/**
 * Mirror a change of mailstate's suppression list on Resend's (RESEND_SUPPRESSION_SYNC=both): one
 * job on the rate-limited resend queue, retried there. The same address's pending job is not queued
 * twice; a removal cancels a pending add of the address, and an add a pending removal.
 */
export async function queueSuppressionMirror(queues: Queues, change: "add" | "remove", email: string) {
  const opposite = change === "add" ? jobIdFor("remove-suppression", email) : jobIdFor("add-suppression", email);
  await queues.resend.remove(opposite).catch(() => 0);
  return change === "add"
    ? addJob(queues, "resend.add-suppression", { email }, jobIdFor("add-suppression", email))
    : addJob(queues, "resend.remove-suppression", { email }, jobIdFor("remove-suppression", email));
}
