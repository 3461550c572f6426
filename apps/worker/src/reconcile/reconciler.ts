// Reconciliation as the worker runs it: micro-batched transactions, then parking of the unmatched.
import { notifications, type SqlPool, type StoredEvent } from "@mailstate/db";
import { addJobs, jobIdFor, type Queues } from "@mailstate/queue";
import { eventTraceparentOf } from "@mailstate/resend-events";
import { type BatcherOptions, type Logger, MicroBatcher } from "@mailstate/runtime";
import { startEventSpan, tracingActive } from "@mailstate/tracing";
import type { WorkerMetrics } from "../metrics.ts";
import { type OutboundSync, outboundEnabled, queueOutbound } from "../resend/outbound.ts";
import type { IncomingEvent } from "./decode.ts";
import { withoutErased } from "./erased.ts";
import { ParsedEventCache } from "./event-cache.ts";
import { choosePark, type ParkingPolicy, parkedJob } from "./parking.ts";
import { type Outcome, type ReconcileResult, reconcileEvents, replayParked } from "./reconcile-events.ts";
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
  reconcile(event: IncomingEvent): Promise<Outcome>;
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

/** The "parking bound hit" warning, at most this often: a broadcast would otherwise flood the log. */
const BOUND_WARNING_EVERY_MS = 60_000;

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
  let boundWarnedAt = 0;
  const tellResend =
    outbound && outboundEnabled(outbound)
      ? (created: CreatedSuppression[]) => queueOutbound(queues, logger, outbound, created)
      : null;

  /** Parking jobs of email ids now applied have nothing left to do: remove them so ops see none stale. */
  async function unpark(emailIds: string[]): Promise<void> {
    await Promise.all(
      emailIds.map((emailId) => queues.unmatched.remove(jobIdFor("unmatched", emailId)).catch(() => 0)),
    );
  }

  async function replay(emailIds: string[]): Promise<string[]> {
    const { applied, carried, suppressed } = await replayParked(sql, emailIds, policy, cache);
    if (tellResend) await tellResend(suppressed);
    if (applied.length > 0) {
      traceReplayed(applied);
      logger.info({ emailIds, applied: applied.length }, "parked events applied");
      await unpark(carried);
    }
    return applied.map((row) => row.svixId);
  }

  /** How many of these email ids the unmatched queue has room for (some may be parked already). */
  async function parkingRoom(wanted: number): Promise<number> {
    const counts = await queues.unmatched.getJobCounts("waiting", "delayed", "prioritized", "active", "failed");
    const parked = Object.values(counts).reduce((sum, count) => sum + count, 0);
    const room = Math.max(0, parking.maxParkedEmails - parked);
    if (room >= wanted) return wanted;
    if (Date.now() - boundWarnedAt >= BOUND_WARNING_EVERY_MS) {
      boundWarnedAt = Date.now();
      logger.warn(
        { parked, PARK_MAX_EMAILS: parking.maxParkedEmails },
        "parking bound hit: events of unknown email ids are logged in PostgreSQL but not parked in Redis; " +
          "recording their send or `mailstate replay-unmatched` still applies them",
      );
    }
    return room;
  }

  async function park(result: ReconcileResult): Promise<void> {
    if (result.unmatched.length === 0) return;
    const candidates = choosePark(result.unmatched, parking);
    const toPark = candidates.length > 0 ? candidates.slice(0, await parkingRoom(candidates.length)) : [];
    if (toPark.length > 0) {
      const parkedAt = new Date();
      // An email id parked already keeps its job: adding the same job id again is a no-op.
      await addJobs(
        queues,
        "unmatched.retry",
        toPark.map((event) => ({ payload: parkedJob(event, parkedAt), jobId: jobIdFor("unmatched", event.emailId) })),
      );
    }
    // The send may have been recorded while this batch was committing; if so, apply now rather
    // than after the first backoff. The API asks the log the other way round once a record commits
    // (replayParked in apps/api/src/v1/notifications.ts): whichever commits second, its check sees
    // the other's row.
    const recorded = await notifications.carrying(sql, [...new Set(result.unmatched.map((event) => event.emailId))]);
    if (recorded.length > 0) await replay(recorded);
  }

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
    await park(result);
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
    reconcile: (event) => batcher.submit(event),
    reprocess: (events) =>
      reconciled(
        events,
        events.map((event) => event.svixId),
      ),
    replay,
  };
}
