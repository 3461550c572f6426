// Reconciliation as the worker runs it: micro-batched transactions, then parking of the unmatched.
import { type Db, notifications } from "@mailstate/db";
import { addJob, jobIdFor, type Queues } from "@mailstate/queue";
import type { Logger } from "@mailstate/runtime";
import type { SuppressionPolicy } from "@mailstate/state-machine";
import { MicroBatcher } from "../batcher.ts";
import type { IncomingEvent } from "./decode.ts";
import { type Outcome, type ReconcileResult, reconcileEvents, replayParked } from "./reconcile-events.ts";

export interface ReconcilerDeps {
  db: Db;
  queues: Queues;
  logger: Logger;
  policy: SuppressionPolicy;
  batch?: { maxSize: number; maxWaitMs: number };
}

export interface Reconciler {
  reconcile(event: IncomingEvent): Promise<Outcome>;
  /** Apply now the parked events of these email ids; answers the svix-ids applied. */
  replay(emailIds: string[]): Promise<string[]>;
}

export function createReconciler({ db, queues, logger, policy, batch }: ReconcilerDeps): Reconciler {
  async function replay(emailIds: string[]): Promise<string[]> {
    const applied = await replayParked(db, emailIds);
    if (applied.length > 0) {
      logger.info({ emailIds, applied: applied.length }, "parked events applied");
      // Their retry jobs have nothing left to do; remove them so ops see no stale parked jobs.
      await Promise.all(applied.map((svixId) => queues.unmatched.remove(jobIdFor("unmatched", svixId)).catch(() => 0)));
    }
    return applied;
  }

  async function park(result: ReconcileResult): Promise<void> {
    if (result.toPark.length === 0) return;
    await Promise.all(
      result.toPark.map((parked) => addJob(queues, "unmatched.retry", parked, jobIdFor("unmatched", parked.svixId))),
    );
    // The send may have been recorded while this batch was committing; if so, apply now rather
    // than after the first backoff.
    const emailIds = [...new Set(result.toPark.map((parked) => parked.emailId))];
    const recorded = await notifications.findManyByResendEmailIds(db, emailIds);
    if (recorded.length > 0) await replay(recorded.map((row) => row.resendEmailId));
  }

  const batcher = new MicroBatcher<IncomingEvent, Outcome>(async (items) => {
    const result = await reconcileEvents(db, items, policy);
    for (const invalid of result.invalid) logger.warn(invalid, "event does not match its schema: logged as ignored");
    await park(result);
    return items.map((item) => result.outcomes.get(item.svixId) ?? "duplicate");
  }, batch ?? { maxSize: 50, maxWaitMs: 2 });

  return { reconcile: (event) => batcher.submit(event), replay };
}
