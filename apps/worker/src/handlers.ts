// One handler per job of the catalog. Payloads are parsed at this edge; a payload that cannot
// parse will never succeed, so it fails for good (UnrecoverableError) where ops can see it.

import type { Db } from "@mailstate/db";
import { events } from "@mailstate/db";
import { JOBS, type JobName, type JobPayload } from "@mailstate/queue";
import { type Job, UnrecoverableError } from "bullmq";
import type { Maintenance } from "./maintenance.ts";
import type { Reconciler } from "./reconcile/reconciler.ts";

export interface HandlerDeps {
  db: Db;
  reconciler: Reconciler;
  maintenance: Maintenance;
}

type Handler<N extends JobName> = (payload: JobPayload<N>, deps: HandlerDeps) => Promise<unknown>;

export class StillUnmatchedError extends Error {
  constructor(svixId: string, emailId: string) {
    super(`no notification carries email id ${emailId} yet (event ${svixId})`);
    this.name = "StillUnmatchedError";
  }
}

const handlers: { [N in JobName]: Handler<N> } = {
  "inbox.reconcile": async ({ svixId, receivedAt, event }, { reconciler }) => {
    const outcome = await reconciler.reconcile({ svixId, receivedAt: new Date(receivedAt), raw: event });
    return { outcome };
  },

  "inbox.replay-email": async ({ emailId }, { reconciler }) => {
    const applied = await reconciler.replay([emailId]);
    return { applied: applied.length };
  },

  "unmatched.retry": async ({ svixId, emailId }, { db, reconciler }) => {
    await reconciler.replay([emailId]);
    const logged = await events.findBySvixId(db, svixId);
    if (!logged) throw new UnrecoverableError(`event ${svixId} is not in the log`);
    // Throwing keeps the job parked: BullMQ retries it with backoff, then leaves it failed.
    if (logged.status === "unmatched") throw new StillUnmatchedError(svixId, emailId);
    return { status: logged.status };
  },

  "maintenance.scrub-engagement-pii": async (_payload, { maintenance }) => maintenance.scrubEngagementPii(),
};

function isJobName(name: string): name is JobName {
  return name in JOBS;
}

export function createProcessor(deps: HandlerDeps) {
  return async (job: Job): Promise<unknown> => {
    if (!isJobName(job.name)) throw new UnrecoverableError(`unknown job name ${job.name}`);
    const parsed = JOBS[job.name].payload.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid ${job.name} payload: ${parsed.error.message}`);
    const handler = handlers[job.name] as Handler<typeof job.name>;
    return handler(parsed.data as JobPayload<typeof job.name>, deps);
  };
}
