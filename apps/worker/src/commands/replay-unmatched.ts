// `mailstate replay-unmatched [--email-id <id>]`: run the parked events now instead of at their next
// backoff, through the worker's own `unmatched.retry` jobs (one per email id), and report what they became.
import { events, ops } from "@mailstate/db";
import { addJob, jobIdFor } from "@mailstate/queue";
import type { Job } from "bullmq";
import { type Context, EXIT, fromDb } from "./context.ts";

interface ReplayReport {
  parked: number;
  emailIds: number;
  promoted: number;
  retried: number;
  requeued: number;
  applied: number;
  stillUnmatched: number;
  /** Jobs the worker had not run by the deadline. */
  notProcessed: number;
}

const PENDING_STATES = new Set(["waiting", "active", "prioritized", "waiting-children"]);

export async function replayUnmatched(
  context: Context,
  { emailId, waitMs, json }: { emailId?: string; waitMs: number; json: boolean },
): Promise<number> {
  const db = context.db();
  const queues = await context.queues();
  const parked = await fromDb(
    context,
    events.listUnmatched(db, { limit: 1_000_000, ...(emailId === undefined ? {} : { emailId }) }),
  );
  const startedAt = Date.now();
  const report: ReplayReport = {
    parked: parked.length,
    emailIds: new Set(parked.map((event) => event.emailId)).size,
    promoted: 0,
    retried: 0,
    requeued: 0,
    applied: 0,
    stillUnmatched: 0,
    notProcessed: 0,
  };

  // The jobs already parked: delayed ones run now, failed ones (retries exhausted) get one more try.
  const jobs = (await queues.unmatched.getJobs(["delayed", "failed", "waiting", "prioritized", "active"])).filter(
    (job): job is Job => job !== undefined && (emailId === undefined || job.data?.emailId === emailId),
  );
  const touched = new Set<string>();
  for (const job of jobs) {
    if (!job.id) continue;
    touched.add(job.id);
    const state = await job.getState();
    try {
      if (state === "delayed") {
        await job.promote();
        report.promoted += 1;
      } else if (state === "failed") {
        await job.retry("failed");
        report.retried += 1;
      }
    } catch {
      // The worker moved the job in between; it runs anyway.
    }
  }

  // Email ids whose events are parked but whose job is gone (removed by hand, lost with Redis, or
  // never parked: broadcasts, tagged sends, PARK_UNTAGGED=false) get a job again, run at once.
  const withJob = new Set(jobs.map((job) => String(job.data?.emailId)));
  const parkedAt = new Date().toISOString();
  for (const emailId of new Set(parked.flatMap((event) => (event.emailId === null ? [] : [event.emailId])))) {
    if (withJob.has(emailId)) continue;
    const jobId = jobIdFor("unmatched", emailId);
    const stale = await queues.unmatched.getJob(jobId);
    if (stale) await stale.remove().catch(() => {});
    await addJob(queues, "unmatched.retry", { emailId, parkedAt }, jobId, { delay: 0 });
    report.requeued += 1;
    touched.add(jobId);
  }

  report.notProcessed = await waitForJobs(context, [...touched], startedAt, waitMs);
  const statuses = await fromDb(
    context,
    ops.eventStatuses(
      db,
      parked.map((event) => event.svixId),
    ),
  );
  for (const event of parked) {
    if (statuses.get(event.svixId) === "unmatched") report.stillUnmatched += 1;
    else report.applied += 1;
  }

  const { out, err } = context.io;
  if (json) out(JSON.stringify(report, null, 2));
  else if (report.parked === 0 && touched.size === 0) {
    out(emailId === undefined ? "nothing parked" : `nothing parked for email id ${emailId}`);
  } else {
    out(
      `parked: ${report.parked} events of ${report.emailIds} email ids (${report.promoted} delayed jobs promoted, ${report.retried} failed jobs retried, ${report.requeued} re-queued)`,
    );
    out(`applied: ${report.applied}`);
    out(
      `still unmatched: ${report.stillUnmatched}${report.stillUnmatched ? " (no notification carries their email id yet; they stay parked)" : ""}`,
    );
  }
  if (report.notProcessed > 0) {
    err(
      `${report.notProcessed} jobs were not run within ${waitMs / 1000}s: is a worker running on QUEUE_PREFIX=${context.env.QUEUE_PREFIX}?`,
    );
    return EXIT.problem;
  }
  return EXIT.ok;
}

/** Until every job ran once since `since` (completed, removed, or parked again); answers how many did not. */
async function waitForJobs(context: Context, jobIds: string[], since: number, waitMs: number): Promise<number> {
  const queues = await context.queues();
  const deadline = Date.now() + waitMs;
  let remaining = jobIds;
  for (;;) {
    const pending = await Promise.all(
      remaining.map(async (id) => {
        const job = await queues.unmatched.getJob(id);
        if (!job) return null;
        const state = await job.getState();
        if (state === "completed" || state === "unknown") return null;
        if (!PENDING_STATES.has(state) && (job.processedOn ?? 0) >= since) return null;
        return id;
      }),
    );
    remaining = pending.filter((id): id is string => id !== null);
    if (remaining.length === 0 || Date.now() >= deadline) return remaining.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
