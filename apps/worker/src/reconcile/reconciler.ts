// Reconciliation as the worker runs it: micro-batched transactions, then parking of the unmatched.
import type { SqlPool, StoredEvent } from "@mailstate/db";
import type { Queues } from "@mailstate/queue";
import { eventTraceparentOf } from "@mailstate/resend-events";
import { type BatcherOptions, type Logger, MicroBatcher } from "@mailstate/runtime";
import { startEventSpan, tracingActive } from "@mailstate/tracing";
import type { WorkerMetrics } from "../metrics.ts";
import { type OutboundSync, outboundEnabled, queueOutbound } from "../resend/outbound.ts";
import type { IncomingEvent } from "./decode.ts";
import { withoutErased } from "./erased.ts";
import { ParsedEventCache } from "./event-cache.ts";
import { createParking, type ParkingPolicy, unpark } from "./parking.ts";
import { adoptParkedEvents, type Outcome, type ReconcileResult, reconcileEvents } from "./reconcile-events.ts";
import type { CreatedSuppression, SuppressionRules } from "./side-effects.ts";

export interface ReconcilerDeps {
  sql: SqlPool;
  queues: Queues;
  logger: Logger;
  policy: SuppressionRules;
  parking: ParkingPolicy;
  batch?: BatcherOptions;
  /** Tell Resend of new suppressions (RESEND_SUPPRESSION_SYNC=both, RESEND_AUDIENCE_ID); none by default. */
  outbound?: OutboundSync;
  /** Where each batch's size, its events' outcomes and their lag are counted. */
  metrics?: Pick<WorkerMetrics, "batchEvents" | "events" | "eventLagSeconds">;
}

export interface Reconciler {
  /**
   * Add the event to the batch being gathered (the events of many jobs, reconciled in one
   * transaction) and wait for that batch: answers what became of this event in it.
   */
  joinBatch(event: IncomingEvent): Promise<Outcome>;
  /** Take these invalid events out of the log and reconcile them again (after a schema change). */
  reprocess(events: IncomingEvent[]): Promise<Map<string, Outcome>>;
  /** Apply now the parked events of these email ids; answers the svix-ids applied. */
  replay(emailIds: string[]): Promise<string[]>;
}

/**
 * With tracing on: a parked event applied at last marks it in the trace of the webhook that brought
 * it (the traceparent noted on the stored event), so its trace shows the wait and the replay.
 */
function traceReplayed(adopted: StoredEvent[]): void {
  if (!tracingActive()) return;
  for (const row of adopted) {
    const traceparent = eventTraceparentOf(row.payload);
    if (!traceparent) continue;
    startEventSpan("replay parked event", traceparent, () => ({
      "mailstate.svix_id": row.svixId,
      "mailstate.notification_id": row.notificationId,
    }))({ "mailstate.outcome": "applied" });
  }
}

export function createReconciler({
  sql,
  queues,
  logger,
  policy,
  parking,
  batch,
  outbound,
  metrics,
}: ReconcilerDeps): Reconciler {
  const cache = new ParsedEventCache();
  const tellResend =
    outbound && outboundEnabled(outbound)
      ? (created: CreatedSuppression[]) => queueOutbound(queues, logger, outbound, created)
      : null;

  async function replay(emailIds: string[]): Promise<string[]> {
    const { adopted, carried, suppressed } = await adoptParkedEvents(sql, emailIds, policy, cache);
    if (tellResend) await tellResend(suppressed);
    if (adopted.length > 0) {
      traceReplayed(adopted);
      logger.info({ emailIds, applied: adopted.length }, "parked events applied");
      await unpark(queues, carried);
    }
    return adopted.map((row) => row.svixId);
  }

  const parkUnmatched = createParking({ sql, queues, logger, parking, replay });

  async function reconciled(incoming: IncomingEvent[], reprocess: string[] = []) {
    const started = performance.now();
    // Events of erased emails are dropped here, before anything logs them.
    const { kept: items, erased, suppressed } = await withoutErased(sql, incoming, policy);
    if (tellResend && suppressed.length > 0) await tellResend(suppressed);
    const result: ReconcileResult =
      items.length > 0 || reprocess.length > 0
        ? await reconcileEvents(sql, items, policy, cache, { reprocess })
        : { outcomes: new Map(), unmatched: [], invalid: [], suppressed: [], adopted: [] };
    for (const svixId of erased) result.outcomes.set(svixId, "erased");
    traceReplayed(result.adopted);
    logger.debug({ events: items.length, ms: Math.round(performance.now() - started) }, "batch reconciled");
    metrics?.batchEvents.observe(items.length);
    for (const invalid of result.invalid) logger.warn(invalid, "event does not match its schema: logged as invalid");
    if (tellResend) await tellResend(result.suppressed);
    await parkUnmatched(result.unmatched);
    return result.outcomes;
  }

  const batcher = new MicroBatcher<IncomingEvent, Outcome>(async (items) => {
    const outcomes = await reconciled(items);
    const now = Date.now();
    return items.map((item) => {
      const outcome = outcomes.get(item.svixId) ?? "duplicate";
      metrics?.events.inc({ outcome });
      metrics?.eventLagSeconds.observe(Math.max(0, now - item.receivedAt.getTime()) / 1_000);
      return outcome;
    });
  }, batch ?? { maxSize: 50, maxWaitMs: 2 });

  return {
    joinBatch: (event) => batcher.submit(event),
    reprocess: (events) =>
      reconciled(
        events,
        events.map((event) => event.svixId),
      ),
    replay,
  };
}
