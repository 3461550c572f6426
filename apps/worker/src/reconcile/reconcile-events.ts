// The heart of the worker: a batch of verified webhooks, reconciled in one transaction.
import {
  type EventRow,
  reconcileStore,
  type SqlClient,
  type SqlPool,
  type StoredEvent,
  withSqlTransaction,
} from "@mailstate/db";
import { isEmailEvent, parseResendEvent, recipientsOf, tryParseResendTimestamp } from "@mailstate/resend-events";
import type { SuppressionPolicy } from "@mailstate/state-machine";
import { type DecodedEvent, decodeEvent, type IncomingEvent, isAboutSentEmail } from "./decode.ts";
import type { ParsedEventCache } from "./event-cache.ts";
import { type AppliedEvent, applySuppressionPolicy, applyToNotifications } from "./side-effects.ts";

export type Outcome = "applied" | "unmatched" | "ignored" | "invalid" | "duplicate";

/** An event no notification carries yet, with what ops need to recognise it. */
export interface UnmatchedEvent {
  svixId: string;
  emailId: string;
  type: string;
  occurredAt: Date;
  /** The send carried a `mailstate_id` tag (of a notification this database does not hold). */
  tagged: boolean;
  /** From a Resend Broadcast, which never goes through mailstate. */
  broadcast: boolean;
  recipient: string | null;
  subject: string | null;
}

export interface ReconcileResult {
  outcomes: Map<string, Outcome>;
  /** Events whose notification is not recorded yet: the caller decides which to park (after the commit). */
  unmatched: UnmatchedEvent[];
  /** Events the schema rejected: logged as invalid, reported for the logs. */
  invalid: { svixId: string; type: string; problem: string }[];
}

/** A parked event that has just been adopted; it was decoded successfully when it was logged. */
function toApplied(row: StoredEvent): AppliedEvent {
  const event = parseResendEvent(row.payload);
  const occurredAt = tryParseResendTimestamp(event.created_at)?.date ?? new Date(0);
  return { svixId: row.svixId, event, occurredAt, notificationId: row.notificationId };
}

function statusOf(event: DecodedEvent, notificationId: string | undefined): EventRow["status"] {
  if (event.category === "invalid") return "invalid";
  if (!isAboutSentEmail(event)) return "ignored";
  return notificationId ? "applied" : "unmatched";
}

function unmatchedEvent(event: DecodedEvent & { emailId: string }): UnmatchedEvent {
  const subject = event.event && isEmailEvent(event.event) ? event.event.data.subject : null;
  return {
    svixId: event.svixId,
    emailId: event.emailId,
    type: event.type,
    occurredAt: event.occurredAt,
    tagged: event.taggedNotificationId !== null,
    broadcast: event.broadcastId !== null,
    recipient: event.event ? (recipientsOf(event.event)[0] ?? null) : null,
    subject,
  };
}

/**
 * Which notification each email id belongs to: the one carrying it, else the one its send's
 * `mailstate_id` tag names, which then carries it from here on (an event may beat the SDK's attach).
 * Every candidate is locked first, in id order, so concurrent batches serialize and never deadlock.
 */
async function matchNotifications(client: SqlClient, decoded: DecodedEvent[]): Promise<Map<string, string>> {
  const withEmailId = decoded.filter((event): event is DecodedEvent & { emailId: string } => event.emailId !== null);
  const tagged = withEmailId.filter((event) => isAboutSentEmail(event) && event.taggedNotificationId !== null);
  const locked = await reconcileStore.lockMatches(
    client,
    [...new Set(withEmailId.map((event) => event.emailId))],
    [...new Set(tagged.map((event) => event.taggedNotificationId as string))],
  );
  const notificationOf = new Map(locked.flatMap((row) => (row.emailId ? [[row.emailId, row.id] as const] : [])));
  const withoutEmailId = new Set(locked.filter((row) => row.emailId === null).map((row) => row.id));
  const toAttach = new Map<string, string>();
  for (const event of tagged) {
    const id = event.taggedNotificationId as string;
    if (notificationOf.has(event.emailId) || !withoutEmailId.has(id)) continue;
    // One email id per notification: a second one in the batch stays unmatched.
    if (![...toAttach.values()].includes(id)) toAttach.set(event.emailId, id);
  }
  const attached = await reconcileStore.attachEmailIds(
    client,
    [...toAttach].map(([emailId, id]) => ({ id, emailId })),
  );
  for (const [emailId, id] of attached) notificationOf.set(emailId, id);
  return notificationOf;
}

/**
 * Append each event to the log (a logged svix-id is a no-op), attach it to its notification when
 * one carries its email id or its tag names one, adopt events parked for those ids, apply
 * suppressions, engagement and the folded state. `reprocess` lists events logged as invalid that
 * are to be taken out of the log and reconciled again.
 */
export async function reconcileEvents(
  pool: SqlPool,
  incoming: IncomingEvent[],
  policy: SuppressionPolicy,
  cache: ParsedEventCache,
  { reprocess = [] }: { reprocess?: string[] } = {},
): Promise<ReconcileResult> {
  const decoded = [...new Map(incoming.map((item) => [item.svixId, decodeEvent(item)])).values()];
  return withSqlTransaction(pool, async (client) => {
    await reconcileStore.removeInvalid(client, reprocess);
    const notificationOf = await matchNotifications(client, decoded);

    const rows = decoded.map((event) => {
      const notificationId = event.emailId ? notificationOf.get(event.emailId) : undefined;
      const status = statusOf(event, notificationId);
      const row: EventRow = {
        svixId: event.svixId,
        type: event.type,
        occurredAt: event.occurredAt,
        receivedAt: event.receivedAt,
        emailId: event.emailId,
        payload: event.raw,
        // An ignored event belongs to no notification; an invalid one shows on its timeline.
        notificationId: status === "ignored" ? null : (notificationId ?? null),
        status,
      };
      return { event, row };
    });
    const {
      inserted,
      adopted,
      applied: before,
    } = await reconcileStore.appendAndAdopt(
      client,
      rows.map(({ row }) => row),
      { emailIds: [...notificationOf.keys()], notificationIds: [...notificationOf.values()] },
    );
    const fresh = rows.filter(({ row }) => inserted.has(row.svixId));

    const { resetSoftBounces } = await applySuppressionPolicy(
      client,
      fresh.flatMap(({ event: { svixId, event, occurredAt } }) => (event ? [{ svixId, event, occurredAt }] : [])),
      policy,
    );
    const applied = fresh.flatMap(({ event: { svixId, event, occurredAt }, row }) =>
      event && row.status === "applied" && row.notificationId
        ? [{ svixId, event, occurredAt, notificationId: row.notificationId }]
        : [],
    );
    await applyToNotifications(client, [...applied, ...adopted.map(toApplied)], before, cache, resetSoftBounces);

    // A redelivered event still unmatched may have lost its parking (Redis restarted): park it again.
    const duplicates = rows.filter(({ row }) => !inserted.has(row.svixId));
    const stillParked = new Set(
      (
        await reconcileStore.statusesOf(
          client,
          duplicates.map(({ row }) => row.svixId),
        )
      )
        .filter((row) => row.status === "unmatched")
        .map((row) => row.svixId),
    );
    const unmatched = rows.flatMap(({ event, row }) =>
      event.emailId !== null &&
      ((inserted.has(row.svixId) && row.status === "unmatched") || stillParked.has(row.svixId))
        ? [unmatchedEvent({ ...event, emailId: event.emailId })]
        : [],
    );
    return {
      outcomes: new Map(rows.map(({ row }) => [row.svixId, inserted.has(row.svixId) ? row.status : "duplicate"])),
      unmatched,
      invalid: fresh.flatMap(({ event }) =>
        event.category === "invalid" ? [{ svixId: event.svixId, type: event.type, problem: event.problem ?? "" }] : [],
      ),
    };
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
