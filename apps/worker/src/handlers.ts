// One handler per job of the catalog. Payloads are parsed at this edge (a batch job's events each
// on their own, in inbox-batch.ts). An inbox event that can never apply (its payload unreadable, or
// data PostgreSQL refuses) goes to the dead-letter table and its job completes: retrying it would
// change nothing, and the table keeps it for a retry once the cause is fixed.

import { events, type SqlPool } from "@mailstate/db";
import { INBOX_EVENT_JOBS, JOBS, type JobName, type JobPayload } from "@mailstate/queue";
import { type Job, UnrecoverableError } from "bullmq";
import { recordDeadLetter } from "./dead-letters.ts";
import { reconcileBatchJob } from "./inbox-batch.ts";
import type { Maintenance } from "./maintenance.ts";
import type { Reconciler } from "./reconcile/reconciler.ts";
import { reconcileOrDeadLetter } from "./reconcile-or-dead-letter.ts";
import type { ResendJobs } from "./resend/jobs.ts";

export interface HandlerDeps {
  sql: SqlPool;
  reconciler: Reconciler;
  maintenance: Maintenance;
  /** Calls to Resend's API; null without RESEND_API_KEY. */
  resend: ResendJobs | null;
  /** One attempt at one outbound webhook message. */
  deliverWebhook: (messageId: string, job: Job) => Promise<unknown>;
}

/** A job of the `resend` queue met by a worker without RESEND_API_KEY: it cannot run here. */
function resendJobs(deps: HandlerDeps): ResendJobs {
  if (!deps.resend) throw new UnrecoverableError("RESEND_API_KEY is not set in this worker: no calls to Resend");
  return deps.resend;
}

/** Whether this is the job's last attempt. */
const lastAttempt = (job: Job) => job.attemptsMade + 1 >= (job.opts.attempts ?? 1);

type Handler<N extends JobName> = (payload: JobPayload<N>, deps: HandlerDeps, job: Job) => Promise<unknown>;

class StillUnmatchedError extends Error {
  constructor(emailId: string) {
    super(`no notification carries email id ${emailId} yet`);
    this.name = "StillUnmatchedError";
  }
}

const handlers: { [N in JobName]: Handler<N> } = {
  "inbox.batch": async ({ events }, { sql, reconciler }, job) => reconcileBatchJob(reconciler, sql, job, events),

  "inbox.reconcile": async ({ svixId, receivedAt, event }, { sql, reconciler }, job) =>
    reconcileOrDeadLetter(
      reconciler,
      sql,
      { svixId, receivedAt: new Date(receivedAt), raw: event },
      job.attemptsMade + 1,
    ),

  "inbox.replay-email": async ({ emailId }, { reconciler }) => {
    const applied = await reconciler.replay([emailId]);
    return { applied: applied.length };
  },

  "unmatched.retry": async ({ emailId }, { sql, reconciler }) => {
    const applied = await reconciler.replay([emailId]);
    // Throwing keeps the job parked: BullMQ retries it with backoff, then leaves it failed.
    if (await events.hasUnmatched(sql, emailId)) throw new StillUnmatchedError(emailId);
    return { applied: applied.length };
  },

  "maintenance.scrub-engagement-pii": async (_payload, { maintenance }) => maintenance.scrubEngagementPii(),

  "maintenance.retention": async (_payload, { maintenance }) => maintenance.retention(),

  "maintenance.resend-sweep": async (_payload, deps) => (deps.resend ? deps.resend.sweep() : { disabled: true }),
  "resend.get-email": async (payload, deps, job) => resendJobs(deps).getEmail(payload, lastAttempt(job)),
  "resend.audit-webhooks": async (payload, deps) => resendJobs(deps).auditWebhooks(payload),
  "resend.replay-webhook": async (payload, deps) => resendJobs(deps).replayWebhook(payload),
  "resend.add-suppression": async (payload, deps) => resendJobs(deps).addSuppression(payload),
  "resend.remove-suppression": async (payload, deps) => resendJobs(deps).removeSuppression(payload),
  "resend.unsubscribe-contact": async (payload, deps) => resendJobs(deps).unsubscribeContact(payload),
  "webhooks.deliver": async ({ messageId }, deps, job) => deps.deliverWebhook(messageId, job),
};

function isJobName(name: string): name is JobName {
  return name in JOBS;
}

export function createProcessor(deps: HandlerDeps) {
  return async (job: Job): Promise<unknown> => {
    if (!isJobName(job.name)) throw new UnrecoverableError(`unknown job name ${job.name}`);
    const parsed = JOBS[job.name].payload.safeParse(job.data);
    if (!parsed.success) {
      const problem = `invalid ${job.name} payload: ${parsed.error.message}`;
      if (!(INBOX_EVENT_JOBS as readonly string[]).includes(job.name)) throw new UnrecoverableError(problem);
      await recordDeadLetter(deps.sql, job, { cause: "unreadable_payload", error: problem });
      return { outcome: "dead_lettered" };
    }
    const handler = handlers[job.name] as Handler<typeof job.name>;
    return handler(parsed.data as JobPayload<typeof job.name>, deps, job);
  };
}
