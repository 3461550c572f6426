// The heart of the worker: a batch of verified webhooks, reconciled in one transaction.
import {
  type AdoptedEvent,
  type Db,
  events,
  inTransaction,
  type NewEvent,
  notifications,
  type Prisma,
} from "@mailstate/db";
import { parseResendEvent, tryParseResendTimestamp } from "@mailstate/resend-events";
import type { SuppressionPolicy } from "@mailstate/state-machine";
import { type DecodedEvent, decodeEvent, type IncomingEvent, isAboutSentEmail } from "./decode.ts";
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
function toApplied(row: AdoptedEvent): AppliedEvent {
  const event = parseResendEvent(row.payload);
  const occurredAt = tryParseResendTimestamp(event.created_at)?.date ?? new Date(0);
  return { svixId: row.svixId, event, occurredAt, notificationId: row.notificationId };
}

function statusOf(event: DecodedEvent, notificationId: string | undefined): NewEvent["status"] {
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
  db: Db,
  incoming: IncomingEvent[],
  policy: SuppressionPolicy,
): Promise<ReconcileResult> {
  const decoded = [...new Map(incoming.map((item) => [item.svixId, decodeEvent(item)])).values()];
  return inTransaction(db, async (tx) => {
    const emailIds = [...new Set(decoded.filter(isAboutSentEmail).map((event) => event.emailId))];
    const locked = await notifications.lockManyByResendEmailIds(tx, emailIds);
    const notificationOf = new Map(locked.map((row) => [row.resendEmailId, row.id]));

    const rows: NewEvent[] = decoded.map((event) => {
      const notificationId = event.emailId ? notificationOf.get(event.emailId) : undefined;
      return {
        svixId: event.svixId,
        type: event.type,
        occurredAt: event.occurredAt,
        emailId: event.emailId,
        payload: event.raw as Prisma.InputJsonValue,
        notificationId: notificationId ?? null,
        status: statusOf(event, notificationId),
      };
    });
    const inserted = await events.appendMany(tx, rows);
    const adopted = await events.adoptUnmatched(tx, [...notificationOf.keys()]);

    await applySuppressionPolicy(
      tx,
      decoded.flatMap(({ svixId, event, occurredAt }) =>
        event && inserted.has(svixId) ? [{ svixId, event, occurredAt }] : [],
      ),
      policy,
    );

    const applied: AppliedEvent[] = [];
    for (const [index, event] of decoded.entries()) {
      const row = rows[index];
      if (row?.status === "applied" && inserted.has(event.svixId) && event.event && row.notificationId) {
        applied.push({
          svixId: event.svixId,
          event: event.event,
          occurredAt: event.occurredAt,
          notificationId: row.notificationId,
        });
      }
    }
    await applyToNotifications(tx, [...applied, ...adopted.map(toApplied)]);

    const duplicates = decoded.filter((event) => !inserted.has(event.svixId));
    const stillParked = duplicates.length
      ? (
          await events.findManyBySvixIds(
            tx,
            duplicates.map((event) => event.svixId),
          )
        ).filter((row) => row.status === "unmatched")
      : [];

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
export async function replayParked(db: Db, emailIds: string[]): Promise<string[]> {
  return inTransaction(db, async (tx) => {
    await notifications.lockManyByResendEmailIds(tx, emailIds);
    const adopted = await events.adoptUnmatched(tx, emailIds);
    await applyToNotifications(tx, adopted.map(toApplied));
    return adopted.map((row) => row.svixId);
  });
}
