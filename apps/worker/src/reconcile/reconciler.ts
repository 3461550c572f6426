// Reconciliation as the worker runs it: micro-batched transactions, then parking of the unmatched.
import { reconcileStore, type SqlPool } from "@mailstate/db";
import { addJob, jobIdFor, type Queues } from "@mailstate/queue";
import type { Logger } from "@mailstate/runtime";
import type { SuppressionPolicy } from "@mailstate/state-machine";
import { MicroBatcher } from "../batcher.ts";
import type { IncomingEvent } from "./decode.ts";
import { ParsedEventCache } from "./event-cache.ts";
import { type Outcome, type ReconcileResult, reconcileEvents, replayParked } from "./reconcile-events.ts";

export interface ReconcilerDeps {
  sql: SqlPool;
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

export function createReconciler({ sql, queues, logger, policy, batch }: ReconcilerDeps): Reconciler {
  const cache = new ParsedEventCache();

  /** Retry jobs of events that are applied have nothing left to do: remove them so ops see none stale. */
  async function unpark(svixIds: string[]): Promise<void> {
    await Promise.all(svixIds.map((svixId) => queues.unmatched.remove(jobIdFor("unmatched", svixId)).catch(() => 0)));
  }

  async function replay(emailIds: string[]): Promise<string[]> {
    const applied = await replayParked(sql, emailIds, cache);
    if (applied.length > 0) {
      logger.info({ emailIds, applied: applied.length }, "parked events applied");
      await unpark(applied);
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
    const recorded = await reconcileStore.notificationsCarrying(sql, emailIds);
    if (recorded.length === 0) return;
    await replay(recorded);
    // A replay triggered by the recording itself may have applied them before their jobs existed.
    await unpark(result.toPark.filter((parked) => recorded.includes(parked.emailId)).map((parked) => parked.svixId));
  }

  const batcher = new MicroBatcher<IncomingEvent, Outcome>(async (items) => {
    const started = performance.now();
    const result = await reconcileEvents(sql, items, policy, cache);
    logger.debug({ events: items.length, ms: Math.round(performance.now() - started) }, "batch reconciled");
    for (const invalid of result.invalid) logger.warn(invalid, "event does not match its schema: logged as ignored");
    await park(result);
    return items.map((item) => result.outcomes.get(item.svixId) ?? "duplicate");
  }, batch ?? { maxSize: 50, maxWaitMs: 2 });

  return { reconcile: (event) => batcher.submit(event), replay };
}
