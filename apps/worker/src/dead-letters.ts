// Whatever leaves the inbox unapplied goes to the dead-letter table first, one row per event (a
// batch job's events each get their own). A job fails for good
// either at once (a permanent error: PostgreSQL refuses the data, the payload cannot be read) or
// when its retries run out; either way its body is written to PostgreSQL, and only then is the job
// removed from Redis. While PostgreSQL cannot take it, the failed job stays in Redis (inbox jobs are
// never removed on failure by age) and the next sweep moves it.
import { type DeadLetterCause, deadLetters, type SqlPool } from "@mailstate/db";
import { INBOX_EVENT_JOBS, inboxBatchEvents, inboxEventPayload, type Queues } from "@mailstate/queue";
import type { Logger } from "@mailstate/runtime";
import type { Job, Queue } from "bullmq";

/** Failed inbox jobs moved per sweep; the next sweep takes the rest. */
const SWEEP_PAGE = 200;

interface Failure {
  cause: DeadLetterCause;
  error: string;
  errorCode?: string | null;
}

/**
 * The dead letter of one event as a job held it (a job of one webhook, or one event of a batch):
 * its svix-id and body when it reads as an event; otherwise what it claims, or the job's id and `fallbackKey`.
 */
function letterOf(value: unknown, job: Job, { cause, error, errorCode = null }: Failure, fallbackKey = "") {
  const parsed = inboxEventPayload.safeParse(value);
  const claimedSvixId: unknown = (value as { svixId?: unknown } | undefined)?.svixId;
  return {
    svixId: parsed.success
      ? parsed.data.svixId
      : typeof claimedSvixId === "string" && claimedSvixId !== ""
        ? claimedSvixId
        : `job-${job.id}${fallbackKey}`,
    body: parsed.success ? parsed.data.event : value,
    receivedAt: parsed.success ? new Date(parsed.data.receivedAt) : new Date(job.timestamp),
    cause,
    error,
    errorCode,
    attempts: Math.max(1, job.attemptsMade),
  };
}

/**
 * Record an inbox job that will never apply, without removing it (it is running, or failed): each
 * event of a batch job is a dead letter of its own; anything else is one.
 */
export async function recordDeadLetter(sql: SqlPool, job: Job, failure: Failure): Promise<void> {
  const events = inboxBatchEvents(job);
  if (!events) return deadLetters.record(sql, letterOf(job.data, job, failure));
  for (const [index, event] of events.entries()) await recordEventDeadLetter(sql, job, event, index, failure);
}

/** Record one event of a batch job that will never apply. */
export async function recordEventDeadLetter(
  sql: SqlPool,
  job: Job,
  event: unknown,
  index: number,
  failure: Failure,
): Promise<void> {
  await deadLetters.record(sql, letterOf(event, job, failure, `-${index}`));
}

/**
 * Move a failed inbox job to the dead-letter table, then out of Redis; answers whether it did. A
 * failed replay job holds no event (those are in the log, and recording or replay-unmatched applies
 * them): it is only removed. A job of a name this worker does not know (a newer version's, during a
 * rolling deploy) stays failed, for a worker that knows it.
 */
export async function deadLetterFailedJob(sql: SqlPool, job: Job): Promise<boolean> {
  if ((INBOX_EVENT_JOBS as readonly string[]).includes(job.name)) {
    await recordDeadLetter(sql, job, { cause: "retries_exhausted", error: job.failedReason || "failed" });
  } else if (job.name !== "inbox.replay-email") {
    return false;
  }
  await job.remove();
  return true;
}

/** Move every failed inbox job (up to a page) to the dead-letter table; answers how many moved. */
export async function sweepFailedInbox(sql: SqlPool, inbox: Queues | Queue[], logger: Logger): Promise<number> {
  const shards = Array.isArray(inbox) ? inbox : inbox.inboxShards;
  const failed = (await Promise.all(shards.map((shard) => shard.getFailed(0, SWEEP_PAGE - 1)))).flat();
  let moved = 0;
  for (const job of failed) {
    if (!job) continue;
    try {
      if (await deadLetterFailedJob(sql, job)) moved += 1;
    } catch (error) {
      // PostgreSQL is still away: the job stays in Redis for the next sweep.
      logger.warn(
        { jobId: job.id, err: error instanceof Error ? error.message : String(error) },
        "dead letter not written yet",
      );
      break;
    }
  }
  if (moved > 0) logger.warn({ moved }, "failed inbox jobs moved to the dead-letter table");
  return moved;
}
