// The inbox's producer side: verified webhooks go to Redis one job per micro-batch per shard.
//
// BullMQ's per-job work (the add, the fetch, the lock, the completion, each a script in Redis and a
// round trip) cost more than everything else the system does per webhook, so a job carries every
// webhook of one API micro-batch that hashes to its shard. Deduplication is PostgreSQL's (the event
// log's key on svix-id), so a webhook delivered again may ride in any batch: it is a no-op there.
import { randomUUID } from "node:crypto";
import { type BatcherOptions, MicroBatcher } from "@mailstate/runtime";
import type { JobsOptions } from "bullmq";
import { type InboxEventPayload, JOBS } from "./catalog.ts";
import type { Queues } from "./queues.ts";
import { inboxShardOfPayload } from "./shards.ts";

/** The most webhooks one inbox job carries: the API's micro-batch, before it is split by shard. */
export const INBOX_BATCH_MAX = 64;

/** The id of a new batch job: unique, so two batches never fold into one job. */
export const newBatchJobId = () => `batch-${randomUUID()}`;

/**
 * Webhooks into the inbox: one `inbox.batch` job per shard they hash to, added side by side (each
 * shard's keys live in a slot of their own). Answers, for each payload in order, its job's id.
 * The payloads' type is the catalog's and the API builds them from what it verified itself, so they
 * are not parsed again here (a parse copies every event).
 */
export async function addInboxBatch(
  queues: Queues,
  payloads: InboxEventPayload[],
  /** Kept apart from the catalog's only by benchmarks (which keep completed jobs to read their times). */
  extra: Pick<JobsOptions, "removeOnComplete"> = {},
): Promise<string[]> {
  const { options } = JOBS["inbox.batch"];
  const shards = queues.inboxShards;
  const byShard = new Map<number, number[]>();
  payloads.forEach((payload, index) => {
    const shard = inboxShardOfPayload(payload, shards.length);
    const positions = byShard.get(shard);
    if (positions) positions.push(index);
    else byShard.set(shard, [index]);
  });
  const jobIds = new Array<string>(payloads.length);
  await Promise.all(
    [...byShard].map(async ([shard, positions]) => {
      const jobId = newBatchJobId();
      const events = positions.map((position) => payloads[position] as InboxEventPayload);
      await (shards[shard] ?? queues.inbox).add("inbox.batch", { events }, { ...options, ...extra, jobId });
      for (const position of positions) jobIds[position] = jobId;
    }),
  );
  return jobIds;
}

/**
 * Gathers the webhooks submitted within `maxWaitMs` of each other (at most INBOX_BATCH_MAX) into
 * one write of batch jobs. `submit` answers the job id once the job is in Redis, and rejects if the
 * write failed. The API's webhook route and the benchmarks write through it.
 */
export function createInboxWriter(
  queues: Queues,
  {
    maxWaitMs,
    maxSize = INBOX_BATCH_MAX,
    maxInFlight = 2,
    extra,
  }: Partial<BatcherOptions> & { maxWaitMs: number; extra?: Pick<JobsOptions, "removeOnComplete"> },
): { submit(payload: InboxEventPayload): Promise<string> } {
  const batcher = new MicroBatcher<InboxEventPayload, string>((payloads) => addInboxBatch(queues, payloads, extra), {
    maxSize: Math.min(maxSize, INBOX_BATCH_MAX),
    maxWaitMs,
    maxInFlight,
  });
  return { submit: (payload) => batcher.submit(payload) };
}

/** The events a batch job holds (what its last attempt left), or undefined for any other job. */
export function inboxBatchEvents(job: { name: string; data: unknown }): unknown[] | undefined {
  const events = job.name === "inbox.batch" ? (job.data as { events?: unknown } | undefined)?.events : undefined;
  return Array.isArray(events) ? events : undefined;
}

/** One event of a batch job as a person reads it in Bull Board: its type, email id and svix-id. */
export function describeInboxEvent(value: unknown): string {
  const { svixId, event } = (value ?? {}) as { svixId?: unknown; event?: { type?: unknown; data?: unknown } };
  const emailId = (event?.data as { email_id?: unknown } | undefined)?.email_id;
  const text = (field: unknown) => (typeof field === "string" && field !== "" ? field : "?");
  return `${text(event?.type)} · ${text(emailId)} · ${text(svixId)}`;
}

/** What a batch job's name shows in Bull Board's list: how many events, of which types. */
export function describeInboxBatch(data: unknown): string {
  const events = (data as { events?: unknown } | undefined)?.events;
  if (!Array.isArray(events)) return "inbox.batch (unreadable)";
  const types = new Map<string, number>();
  for (const value of events) {
    const type = (value as { event?: { type?: unknown } } | undefined)?.event?.type;
    const name = typeof type === "string" ? type.replace(/^email\./, "") : "?";
    types.set(name, (types.get(name) ?? 0) + 1);
  }
  const mix = [...types].map(([type, count]) => `${count} ${type}`).join(", ");
  return `inbox.batch: ${events.length} event${events.length === 1 ? "" : "s"} (${mix})`;
}
