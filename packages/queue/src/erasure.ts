// Erasing a recipient from Redis: the BullMQ jobs that hold the address, or belong to what was
// erased in PostgreSQL (its notifications' email ids, their outbox messages). Active jobs are left:
// BullMQ cannot remove a locked job, and they are about to finish (an inbox event of an erased
// email id is then dropped by the worker, which reads the tombstones).
import type { Job, JobType, Queue } from "bullmq";
import { inboxBatchEvents } from "./inbox.ts";
import { type Queues, withInboxShardsInUse } from "./queues.ts";
import type { RedisClient } from "./redis.ts";

export interface JobErasureTargets {
  /** Every form of the address a job may hold, lowercase. */
  needles: string[];
  /** Resend email ids of the erased notifications (and of the erased parked events). */
  emailIds: string[];
  outboundMessageIds: string[];
  /** null: everywhere, so a job that merely mentions the address goes too. A tenant's erase takes only the jobs of its erased ids. */
  tenant: string | null;
}

/** Jobs removed, by queue. */
export interface ErasedJobs {
  /** `unmatched`: parked email ids. */
  parkedJobs: number;
  /** Inbox jobs removed whole, on every inbox shard (of every layout still recorded): waiting, delayed, completed and failed. */
  inboxJobs: number;
  /** Events taken out of inbox batch jobs that also hold others' events (those stay, in the job). */
  inboxEvents: number;
  /** `webhooks`: deliveries of the erased outbox messages. */
  outboundJobs: number;
  /** `resend`: finished or failed calls about the address (pending suppression mirrors stay: the suppression stays). */
  resendJobs: number;
}

/** Every state but active. */
const REMOVABLE: JobType[] = ["waiting", "delayed", "prioritized", "waiting-children", "completed", "failed"];
const PAGE = 500;

/** Calls that carry out a suppression, which erasure keeps: while pending, they stay. */
const SUPPRESSION_CALLS = new Set([
  "resend.add-suppression",
  "resend.remove-suppression",
  "resend.unsubscribe-contact",
]);

/** Everything a job holds as text: its data, what it returned, why it failed. */
function textOf(job: Job): string {
  return [
    JSON.stringify(job.data ?? null),
    JSON.stringify(job.returnvalue ?? null),
    job.failedReason ?? "",
    ...(job.stacktrace ?? []),
  ]
    .join("\n")
    .toLowerCase();
}

/** The Resend email id a job (or one event of a batch job) is about, if any: a replay's or parked job's `emailId`, an event's `data.email_id`. */
function emailIdOf(data: unknown): string | undefined {
  const fields = (data ?? {}) as { emailId?: unknown; event?: { data?: { email_id?: unknown } } };
  const id = fields.emailId ?? fields.event?.data?.email_id;
  return typeof id === "string" ? id : undefined;
}

/**
 * A batch job holds the events of many recipients: only the erased ones leave it. The job is
 * rewritten without them, or removed once none is left (or when what it failed with mentions the
 * address). Answers the jobs removed and the events taken out of jobs that stay.
 */
async function eraseFromBatches(
  queue: Queue,
  erasedEvent: (event: unknown) => boolean,
  mentionedOutsideData: (job: Job) => boolean,
): Promise<{ jobs: number; events: number }> {
  const erased = { jobs: 0, events: 0 };
  for (const job of await jobsOf(queue, REMOVABLE, (job) => inboxBatchEvents(job) !== undefined)) {
    const events = inboxBatchEvents(job) ?? [];
    const kept = events.filter((event) => !erasedEvent(event));
    if (kept.length === 0 || mentionedOutsideData(job)) {
      if (await removed(job)) erased.jobs += 1;
    } else if (kept.length < events.length) {
      // A job that finished meanwhile is gone; one that became active is about to, and the worker
      // drops the events of erased email ids itself.
      const rewritten = await job.updateData({ ...job.data, events: kept }).then(
        () => true,
        () => false,
      );
      if (rewritten) erased.events += events.length - kept.length;
    }
  }
  return erased;
}

async function jobsOf(queue: Queue, types: JobType[], matches: (job: Job) => boolean): Promise<Job[]> {
  const found: Job[] = [];
  for (let start = 0; ; start += PAGE) {
    const page = await queue.getJobs(types, start, start + PAGE - 1, true);
    found.push(...page.filter((job) => job && matches(job)));
    if (page.length < PAGE) break;
  }
  return found;
}

/** Whether the job went: a job that became active meanwhile is locked, and stays, as active ones do. */
const removed = (job: Job) =>
  job.remove().then(
    () => true,
    () => false,
  );

async function removeMatching(queue: Queue, types: JobType[], matches: (job: Job) => boolean): Promise<number> {
  let count = 0;
  for (const job of await jobsOf(queue, types, matches)) if (await removed(job)) count += 1;
  return count;
}

/** Remove the jobs that hold the address or belong to what was erased; answers the counts per queue. */
export async function eraseJobs(
  queues: Queues,
  redis: RedisClient,
  prefix: string,
  { needles, emailIds, outboundMessageIds, tenant }: JobErasureTargets,
): Promise<ErasedJobs> {
  const erasedIds = new Set(emailIds);
  const messages = new Set(outboundMessageIds);
  const everywhere = tenant === null;
  const mentionsIn = (text: string) => everywhere && needles.some((needle) => text.includes(needle));
  const mentions = (job: Job) => mentionsIn(textOf(job));
  const ofErasedId = (data: unknown) => {
    const id = emailIdOf(data);
    return id !== undefined && erasedIds.has(id);
  };
  const ofErased = (job: Job) => ofErasedId(job.data);
  const erasedEvent = (event: unknown) => ofErasedId(event) || mentionsIn(JSON.stringify(event ?? null).toLowerCase());
  const mentionedOutsideData = (job: Job) =>
    mentionsIn(
      [job.failedReason ?? "", ...(job.stacktrace ?? []), JSON.stringify(job.returnvalue ?? null)]
        .join("\n")
        .toLowerCase(),
    );

  return withInboxShardsInUse(redis, queues, prefix, async (shards) => {
    let inboxJobs = 0;
    let inboxEvents = 0;
    for (const shard of shards) {
      const batches = await eraseFromBatches(shard, erasedEvent, mentionedOutsideData);
      inboxJobs += batches.jobs;
      inboxEvents += batches.events;
      // Jobs of one webhook each (written before batch jobs) and replays.
      inboxJobs += await removeMatching(
        shard,
        REMOVABLE,
        (job) => inboxBatchEvents(job) === undefined && (ofErased(job) || mentions(job)),
      );
    }
    const parkedJobs = await removeMatching(queues.unmatched, REMOVABLE, (job) => ofErased(job) || mentions(job));
    const outboundJobs = await removeMatching(queues.webhooks, REMOVABLE, (job) => {
      const id = (job.data as { messageId?: unknown } | undefined)?.messageId;
      return (typeof id === "string" && messages.has(id)) || mentions(job);
    });
    const resendJobs = await removeMatching(
      queues.resend,
      REMOVABLE,
      // finishedOn is set once a job completed or failed for good.
      (job) => (ofErased(job) || mentions(job)) && !(SUPPRESSION_CALLS.has(job.name) && job.finishedOn === undefined),
    );
    return { parkedJobs, inboxJobs, inboxEvents, outboundJobs, resendJobs };
  });
}
