// The heart of the worker: a batch of verified webhooks, reconciled in one transaction.
import { type EventRow, reconcileStore, type SqlPool, type StoredEvent, withSqlTransaction } from "@mailstate/db";
import { parseResendEvent, tryParseResendTimestamp } from "@mailstate/resend-events";
import type { SuppressionPolicy } from "@mailstate/state-machine";
import { type DecodedEvent, decodeEvent, type IncomingEvent, isAboutSentEmail } from "./decode.ts";
import type { ParsedEventCache } from "./event-cache.ts";
import { type AppliedEvent, applySuppressionPolicy, applyToNotifications } from "./side-effects.ts";

export type Outcome = "applied" | "unmatched" | "ignored" | "duplicate";

export interface ReconcileResult {
  outcomes: Map<string, Outcome>;
  /** Events whose notification is not recorded yet: park them (after the commit). */
  toPark: { svixId: string; emailId: string }[];
  /** Events the schema rejected: logged as ignored, reported for the logs. */
  invalid: { svixId: string; type: string; problem: string }[];
}

/** A parked event that has just been adopted; it was decoded successfully when it was logged. */
function toApplied(row: StoredEvent): AppliedEvent {
  const event = parseResendEvent(row.payload);
  const occurredAt = tryParseResendTimestamp(event.created_at)?.date ?? new Date(0);
  return { svixId: row.svixId, event, occurredAt, notificationId: row.notificationId };
}

function statusOf(event: DecodedEvent, notificationId: string | undefined): EventRow["status"] {
  if (!isAboutSentEmail(event)) return "ignored";
  return notificationId ? "applied" : "unmatched";
}

/**
 * Append each event to the log (a logged svix-id is a no-op), attach it to its notification when
 * one carries its email id, adopt events parked for those ids, apply suppressions, engagement and
 * the folded state. Notifications are locked first, so two workers handling events of one
 * notification serialize and fold the same log.
 */
export async function reconcileEvents(
  pool: SqlPool,
  incoming: IncomingEvent[],
  policy: SuppressionPolicy,
  cache: ParsedEventCache,
): Promise<ReconcileResult> {
  const decoded = [...new Map(incoming.map((item) => [item.svixId, decodeEvent(item)])).values()];
  return withSqlTransaction(pool, async (client) => {
    const emailIds = [...new Set(decoded.filter(isAboutSentEmail).map((event) => event.emailId))];
    const notificationOf = await reconcileStore.lockNotifications(client, emailIds);

    const rows: EventRow[] = decoded.map((event) => {
      const notificationId = event.emailId ? notificationOf.get(event.emailId) : undefined;
      return {
        svixId: event.svixId,
        type: event.type,
        occurredAt: event.occurredAt,
        emailId: event.emailId,
        payload: event.raw,
        notificationId: notificationId ?? null,
        status: statusOf(event, notificationId),
      };
    });
    const {
      inserted,
      adopted,
      applied: before,
    } = await reconcileStore.appendAndAdopt(client, rows, {
      emailIds: [...notificationOf.keys()],
      notificationIds: [...notificationOf.values()],
    });

    const { resetSoftBounces } = await applySuppressionPolicy(
      client,
      decoded.flatMap(({ svixId, event, occurredAt }) =>
        event && inserted.has(svixId) ? [{ svixId, event, occurredAt }] : [],
      ),
      policy,
    );

    const applied: AppliedEvent[] = [];
    for (const [index, { svixId, event, occurredAt }] of decoded.entries()) {
      const notificationId = rows[index]?.status === "applied" ? rows[index]?.notificationId : null;
      if (event && notificationId && inserted.has(svixId)) applied.push({ svixId, event, occurredAt, notificationId });
    }
    await applyToNotifications(client, [...applied, ...adopted.map(toApplied)], before, cache, resetSoftBounces);

    const duplicates = rows.filter((row) => !inserted.has(row.svixId)).map((row) => row.svixId);
    const stillParked = (await reconcileStore.statusesOf(client, duplicates)).filter(
      (row) => row.status === "unmatched",
    );

    const outcomes = new Map<string, Outcome>(
      rows.map((row) => [row.svixId, inserted.has(row.svixId) ? row.status : "duplicate"]),
    );
    const toPark = [
      ...rows.filter((row) => row.status === "unmatched" && inserted.has(row.svixId)),
      ...stillParked,
    ].flatMap((row) => (row.emailId ? [{ svixId: row.svixId, emailId: row.emailId }] : []));
    const invalid = decoded.flatMap((event) =>
      event.category === "invalid" && inserted.has(event.svixId)
        ? [{ svixId: event.svixId, type: event.type, problem: event.problem ?? "invalid" }]
        : [],
    );
    return { outcomes, toPark, invalid };
  });
}

/** Apply at once the events parked for these email ids, now that notifications carry them. */
export async function replayParked(pool: SqlPool, emailIds: string[], cache: ParsedEventCache): Promise<string[]> {
  return withSqlTransaction(pool, async (client) => {
    const notificationOf = await reconcileStore.lockNotifications(client, emailIds);
    const { adopted, applied: before } = await reconcileStore.appendAndAdopt(client, [], {
      emailIds: [...notificationOf.keys()],
      notificationIds: [...notificationOf.values()],
    });
    await applyToNotifications(client, adopted.map(toApplied), before, cache);
    return adopted.map((row) => row.svixId);
  });
}
