// Erasing a recipient from Redis: the BullMQ jobs that hold the address, or belong to what was
// erased in PostgreSQL (its notifications' email ids, their outbox messages). Active jobs are left:
// BullMQ cannot remove a locked job, and they are about to finish (an inbox event of an erased
// email id is then dropped by the worker, which reads the tombstones).
import type { Job, JobType, Queue } from "bullmq";
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
  /** Every inbox shard (of every layout still recorded): waiting, delayed, completed and failed. */
  inboxJobs: number;
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

/** The Resend email id a job is about, if any: a replay's or parked job's `emailId`, an event's `data.email_id`. */
function emailIdOf(job: Job): string | undefined {
  const data = (job.data ?? {}) as { emailId?: unknown; event?: { data?: { email_id?: unknown } } };
  const id = data.emailId ?? data.event?.data?.email_id;
  return typeof id === "string" ? id : undefined;
}

async function removeMatching(queue: Queue, types: JobType[], matches: (job: Job) => boolean): Promise<number> {
  const found: Job[] = [];
  for (let start = 0; ; start += PAGE) {
    const page = await queue.getJobs(types, start, start + PAGE - 1, true);
    found.push(...page.filter((job) => job && matches(job)));
    if (page.length < PAGE) break;
  }
  let removed = 0;
  for (const job of found) {
    // A job that became active meanwhile is locked: it stays, as active ones do.
    if (
      await job.remove().then(
        () => true,
        () => false,
      )
    )
      removed += 1;
  }
  return removed;
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
  const mentions = (job: Job) => {
    if (!everywhere) return false;
    const text = textOf(job);
    return needles.some((needle) => text.includes(needle));
  };
  const ofErased = (job: Job) => {
    const id = emailIdOf(job);
    return id !== undefined && erasedIds.has(id);
  };

  return withInboxShardsInUse(redis, queues, prefix, async (shards) => {
    let inboxJobs = 0;
    for (const shard of shards)
      inboxJobs += await removeMatching(shard, REMOVABLE, (job) => ofErased(job) || mentions(job));
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
    return { parkedJobs, inboxJobs, outboundJobs, resendJobs };
  });
}
