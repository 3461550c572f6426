// Typed producers over the catalog: the only way jobs are added.

import { bullmqTelemetry } from "@mailstate/tracing";
import { type JobsOptions, Queue, type QueueOptions } from "bullmq";
import { JOB_SCHEDULES, JOBS, type JobName, type JobPayload, jobIdFor, QUEUE_NAMES } from "./catalog.ts";
import type { RedisClient } from "./redis.ts";
import {
  type InboxShard,
  inboxLayoutsInUse,
  inboxRoutingKey,
  inboxShard,
  inboxShardIndex,
  inboxShardsOf,
} from "./shards.ts";

/** Entries each queue's event stream keeps (approximately: Redis trims it in whole blocks). */
const EVENT_STREAM_LENGTH = 500;

export interface Queues {
  /** The first inbox shard: the only one with INBOX_SHARDS=1 (queue `inbox`, under QUEUE_PREFIX). */
  inbox: Queue;
  /** Every inbox shard webhooks are written to (INBOX_SHARDS of them); `inbox` is the first. */
  inboxShards: Queue[];
  unmatched: Queue;
  /** Scheduled housekeeping (JOB_SCHEDULES), one job at a time. */
  maintenance: Queue;
  /** Calls to Resend's API, behind one rate limiter. */
  resend: Queue;
  /** Outbound webhooks, one job per outbox message. */
  webhooks: Queue;
  close(): Promise<void>;
}

export interface QueueLayout {
  /** INBOX_SHARDS: how many inbox queues webhooks are spread over. */
  inboxShards?: number;
}

export function createQueues(
  connection: RedisClient,
  prefix: string,
  extra: Partial<QueueOptions> = {},
  { inboxShards = 1 }: QueueLayout = {},
): Queues {
  // BullMQ checks the server's version once per connection, and a check that fails is never retried.
  // On a fail-fast producer connection (no offline queue) one stalled INFO at startup would leave the
  // queues failing every add until a restart; the workers, whose connection waits, still check.
  const skipVersionCheck = connection.options.enableOfflineQueue === false;
  const make = (name: string, queuePrefix = prefix) =>
    new Queue(name, {
      connection,
      prefix: queuePrefix,
      skipVersionCheck,
      // BullMQ's event stream (read by QueueEvents, which mailstate does not use) keeps 10,000
      // entries by default, ~1.5 MB per queue; a short history is all a person ever reads.
      streams: { events: { maxLen: EVENT_STREAM_LENGTH } },
      // BullMQ's producer spans (bullmq-otel), when tracing is on.
      ...bullmqTelemetry<QueueOptions["telemetry"]>(),
      ...extra,
    });
  const shards = Array.from({ length: inboxShards }, (_, index) => {
    const shard = inboxShard(prefix, inboxShards, index);
    return make(shard.name, shard.prefix);
  });
  const [inbox] = shards;
  if (!inbox) throw new Error(`INBOX_SHARDS must be 1 or more, not ${inboxShards}`);
  const unmatched = make(QUEUE_NAMES.unmatched);
  const maintenance = make(QUEUE_NAMES.maintenance);
  const resend = make(QUEUE_NAMES.resend);
  const webhooks = make(QUEUE_NAMES.webhooks);
  return {
    inbox,
    inboxShards: shards,
    unmatched,
    maintenance,
    resend,
    webhooks,
    async close() {
      await Promise.all([...shards, unmatched, maintenance, resend, webhooks].map((queue) => queue.close()));
    },
  };
}

/** A Queue on one inbox shard, on the connection and options of `like` (the first shard). */
export function inboxShardQueue(like: Queue, shard: InboxShard): Queue {
  return new Queue(shard.name, { ...like.opts, prefix: shard.prefix });
}

/**
 * `fn` over every inbox shard that may hold jobs: those of INBOX_SHARDS now, and those of the
 * layouts recorded before it changed (opened for the call, closed after it).
 */
export async function withInboxShardsInUse<T>(
  redis: RedisClient,
  queues: Queues,
  prefix: string,
  fn: (shards: Queue[]) => Promise<T>,
): Promise<T> {
  const layouts = await inboxLayoutsInUse(redis, prefix, queues.inboxShards.length);
  const retired: Queue[] = [];
  const shards = inboxShardsOf(prefix, layouts).map((shard) => {
    const current = queues.inboxShards.find((queue) => queue.name === shard.name && queue.opts.prefix === shard.prefix);
    if (current) return current;
    const queue = inboxShardQueue(queues.inbox, shard);
    retired.push(queue);
    return queue;
  });
  try {
    return await fn(shards);
  } finally {
    await Promise.all(retired.map((queue) => queue.close()));
  }
}

/**
 * The queue a job goes to. Inbox jobs go to a shard: by `routingKey` (an email id, or a svix id
 * when the event has none), so that every job of one email lands in one shard.
 */
export function queueFor(queues: Queues, name: JobName, routingKey?: string): Queue {
  const queue = JOBS[name].queue;
  if (queue !== QUEUE_NAMES.inbox) return queues[queue];
  const shards = queues.inboxShards;
  return routingKey === undefined ? queues.inbox : (shards[inboxShardIndex(routingKey, shards.length)] ?? queues.inbox);
}

const routingKeyOf = inboxRoutingKey;

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
/** What a caller may set on a job beyond the catalog's options (a worker's shorter backoff, say). */
export type JobOverrides = Pick<JobsOptions, "delay" | "priority" | "backoff">;

export async function addJob<N extends JobName>(
  queues: Queues,
  name: N,
  payload: JobPayload<N>,
  jobId: string,
  options: JobOverrides = {},
) {
  const definition = JOBS[name];
  const data = definition.payload.parse(payload);
  return queueFor(queues, name, routingKeyOf(data, jobId)).add(name, data, {
    ...definition.options,
    ...options,
    jobId,
  });
}

/** Many jobs of one catalog name in one round trip to Redis. */
export async function addJobs<N extends JobName>(
  queues: Queues,
  name: N,
  jobs: { payload: JobPayload<N>; jobId: string }[],
  options: JobOverrides = {},
) {
  const definition = JOBS[name];
  const byQueue = new Map<Queue, { name: N; data: JobPayload<N>; opts: JobsOptions }[]>();
  for (const { payload, jobId } of jobs) {
    const data = definition.payload.parse(payload) as JobPayload<N>;
    const queue = queueFor(queues, name, routingKeyOf(data, jobId));
    const batch = byQueue.get(queue) ?? [];
    batch.push({ name, data, opts: { ...definition.options, ...options, jobId } });
    byQueue.set(queue, batch);
  }
  const added = await Promise.all([...byQueue].map(([queue, batch]) => queue.addBulk(batch)));
  return added.flat();
}

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
