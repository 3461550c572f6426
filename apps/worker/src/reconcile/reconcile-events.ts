// The heart of the worker: a batch of verified webhooks, reconciled in one transaction, in four
// steps: log each event, apply those now attached to a notification, run the suppression policy
// on the new ones, and summarise what became of each. The last writes of the apply and side-effect
// steps go together in one statement, so a batch costs few round trips.
import {
  type AppliedRef,
  type BatchWrite,
  type EngagementCounters,
  type EventRow,
  events,
  type LockedNotification,
  notificationMatching,
  notificationRecords,
  type SqlClient,
  type SqlPool,
  type StoredEvent,
  withSqlTransaction,
  writeTogether,
} from "@mailstate/db";
import { isEmailEvent, parseResendEvent, recipientsOf, tryParseResendTimestamp } from "@mailstate/resend-events";
import { type AppliedEvent, notificationWrites } from "./apply.ts";
import { type DecodedEvent, decodeEvent, type IncomingEvent, isAboutSentEmail } from "./decode.ts";
import type { ParsedEventCache } from "./event-cache.ts";
import {
  applySuppressionPolicy,
  type CreatedSuppression,
  combineEffects,
  type ListedEvent,
  noEffects,
  type PolicyEffects,
  type SuppressionRules,
  speaksOfResendList,
} from "./side-effects.ts";

/**
 * What became of an event; the same word as its status in the log where it has one. `applied`:
 * logged attached to its notification, and folded into it. `erased`: an event of an erased email,
 * dropped before it was logged (reconcile/erased.ts).
 */
export type Outcome = "applied" | "unmatched" | "ignored" | "invalid" | "duplicate" | "erased";

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
  /** Suppressions the batch created: what outbound sync (Resend's list, the audience) acts on. */
  suppressed: CreatedSuppression[];
  /** Parked events this batch applied to the notification now carrying their email id. */
  adopted: StoredEvent[];
}

/** One event of the batch: what was decoded, the row it is logged as, and whether this batch logged it first. */
interface BatchEvent {
  decoded: DecodedEvent;
  row: EventRow;
  /** False when its svix-id was in the log already (a redelivery): nothing of it runs again. */
  fresh: boolean;
}

/** What logging the batch answers: its events, and the parked events it adopted. */
interface LoggedBatch {
  events: BatchEvent[];
  /** Parked events of the email ids now carried, applied to their notification by this batch. */
  adopted: StoredEvent[];
  /** The delivery events the batch's notifications had applied before it (appendAndAdopt's `applied`). */
  deliveryBefore: AppliedRef[];
  /** The engagement counters of the batch's notifications, read when they were locked. */
  counters: Map<string, EngagementCounters>;
}

/** The notifications a transaction locked: email id → notification id, and each one's stored counters. */
interface Locked {
  notificationOf: Map<string, string>;
  counters: Map<string, EngagementCounters>;
}

/** What locking answered, as the maps the batch looks notifications up by. */
function lockedMaps(locked: LockedNotification[]): Locked {
  return {
    notificationOf: new Map(locked.flatMap((row) => (row.emailId ? [[row.emailId, row.id] as const] : []))),
    counters: new Map(locked.map((row) => [row.id, row.counters])),
  };
}

/** A parked event just adopted, as the apply step takes it; it was decoded successfully when it was logged. */
function adoptedEvent(row: StoredEvent): AppliedEvent {
  const event = parseResendEvent(row.payload);
  const occurredAt = tryParseResendTimestamp(event.created_at)?.date ?? new Date(0);
  return { svixId: row.svixId, event, occurredAt, notificationId: row.notificationId };
}

function statusOf(event: DecodedEvent, notificationId: string | undefined): EventRow["status"] {
  if (event.category === "invalid") return "invalid";
  if (!isAboutSentEmail(event)) return "ignored";
  return notificationId ? "applied" : "unmatched";
}

function rowOf(event: DecodedEvent, notificationOf: Map<string, string>): EventRow {
  const notificationId = event.emailId ? notificationOf.get(event.emailId) : undefined;
  const status = statusOf(event, notificationId);
  return {
    svixId: event.svixId,
    type: event.type,
    occurredAt: event.occurredAt,
    ownTime: event.ownTime,
    receivedAt: event.receivedAt,
    emailId: event.emailId,
    payload: event.raw,
    // An ignored event belongs to no notification; an invalid one shows on its timeline.
    notificationId: status === "ignored" ? null : (notificationId ?? null),
    status,
  };
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
async function matchNotifications(client: SqlClient, decoded: DecodedEvent[]): Promise<Locked> {
  const withEmailId = decoded.filter((event): event is DecodedEvent & { emailId: string } => event.emailId !== null);
  const tagged = withEmailId.filter((event) => isAboutSentEmail(event) && event.taggedNotificationId !== null);
  const locked = await notificationMatching.lockMatches(
    client,
    [...new Set(withEmailId.map((event) => event.emailId))],
    [...new Set(tagged.map((event) => event.taggedNotificationId as string))],
  );
  const { notificationOf, counters } = lockedMaps(locked);
  const withoutEmailId = new Set(locked.filter((row) => row.emailId === null).map((row) => row.id));
  const toAttach = new Map<string, string>();
  for (const event of tagged) {
    const id = event.taggedNotificationId as string;
    if (notificationOf.has(event.emailId) || !withoutEmailId.has(id)) continue;
    // One email id per notification: a second one in the batch stays unmatched.
    if (![...toAttach.values()].includes(id)) toAttach.set(event.emailId, id);
  }
  const attached = await notificationMatching.attachEmailIds(
    client,
    [...toAttach].map(([emailId, id]) => ({ id, emailId })),
  );
  for (const [emailId, id] of attached) notificationOf.set(emailId, id);
  return { notificationOf, counters };
}

/**
 * Step 1, log: match each event to its notification (by email id, else by tag), append it to the
 * log (a logged svix-id is a no-op), and adopt the events parked for the email ids now matched.
 * `reprocess` lists events logged as invalid that are taken out of the log and logged again.
 */
async function logEvents(client: SqlClient, decoded: DecodedEvent[], reprocess: string[]): Promise<LoggedBatch> {
  await events.removeInvalid(client, reprocess);
  const { notificationOf, counters } = await matchNotifications(client, decoded);
  const rows = decoded.map((event) => ({ decoded: event, row: rowOf(event, notificationOf) }));
  const {
    inserted,
    adopted,
    applied: deliveryBefore,
  } = await events.appendAndAdopt(
    client,
    rows.map(({ row }) => row),
    { emailIds: [...notificationOf.keys()], notificationIds: [...notificationOf.values()] },
  );
  return {
    events: rows.map((event) => ({ ...event, fresh: inserted.has(event.row.svixId) })),
    adopted,
    deliveryBefore,
    counters,
  };
}

/**
 * What this transaction applies: the events it logged first, attached to a notification (status
 * `applied`), and the parked events it adopted.
 */
function newlyApplied(batch: LoggedBatch): AppliedEvent[] {
  const logged = batch.events.flatMap(({ decoded: { svixId, event, occurredAt }, row, fresh }) =>
    fresh && event && row.status === "applied" && row.notificationId
      ? [{ svixId, event, occurredAt, notificationId: row.notificationId }]
      : [],
  );
  return [...logged, ...batch.adopted.map(adoptedEvent)];
}

/**
 * Step 2, apply: the newly applied events fold into their notifications. Answers the writes that
 * record it (projections, the outbox's state changes, the reputation rollups).
 */
function applyEvents(
  client: SqlClient,
  batch: LoggedBatch,
  applying: AppliedEvent[],
  cache: ParsedEventCache,
): Promise<BatchWrite[]> {
  return notificationWrites(client, applying, batch.deliveryBefore, cache, batch.counters);
}

/**
 * Step 3, side effects: the suppression policy runs once on every new event that parsed. In global
 * scope that is when it is logged, matched or not: the address is what bounced. In tenant scope an
 * event's list is its notification's tenant, so it runs when the event is applied to it: logged
 * matched, or adopted once its send is recorded. Answers the suppressions created and the write it
 * leaves for the end (soft-bounce resets).
 */
async function runSideEffects(
  client: SqlClient,
  batch: LoggedBatch,
  applying: AppliedEvent[],
  rules: SuppressionRules,
): Promise<PolicyEffects> {
  if (rules.scope === "global") {
    const logged: ListedEvent[] = batch.events.flatMap(({ decoded: { svixId, event, occurredAt }, fresh }) =>
      fresh && event ? [{ svixId, event, occurredAt, list: null }] : [],
    );
    return applySuppressionPolicy(client, logged, rules);
  }
  // suppression.* belong to no notification: Resend's list is account-wide, the null list's.
  const resendList: ListedEvent[] = rules.resendList
    ? batch.events.flatMap(({ decoded: { svixId, event, occurredAt }, row, fresh }) =>
        fresh && event && row.status === "ignored" && speaksOfResendList(event.type)
          ? [{ svixId, event, occurredAt, list: null }]
          : [],
      )
    : [];
  const onTenantLists = await sideEffectsOfApplied(client, applying, rules);
  if (resendList.length === 0) return onTenantLists;
  return combineEffects(onTenantLists, await applySuppressionPolicy(client, resendList, rules));
}

/** Tenant scope: the side effects of events now applied to their notifications, on their tenants' lists. */
async function sideEffectsOfApplied(
  client: SqlClient,
  applying: AppliedEvent[],
  rules: SuppressionRules,
): Promise<PolicyEffects> {
  if (applying.length === 0) return noEffects();
  const tenantOf = await notificationRecords.tenantsOf(client, [
    ...new Set(applying.map((event) => event.notificationId)),
  ]);
  const listed = applying.map(({ svixId, event, occurredAt, notificationId }) => ({
    svixId,
    event,
    occurredAt,
    list: tenantOf.get(notificationId) ?? null,
  }));
  return applySuppressionPolicy(client, listed, rules);
}

/**
 * Step 4, summarise: each event's outcome, the unmatched ones to park, the invalid ones to report.
 * A redelivered event still unmatched may have lost its parking (Redis restarted): it is listed
 * with the unmatched, to be parked again.
 */
async function summarise(
  client: SqlClient,
  batch: LoggedBatch,
  suppressed: CreatedSuppression[],
): Promise<ReconcileResult> {
  const redelivered = batch.events.filter((event) => !event.fresh).map((event) => event.row.svixId);
  const stillParked = new Set(
    (await events.statusesOf(client, redelivered)).filter((row) => row.status === "unmatched").map((row) => row.svixId),
  );
  const unmatched = batch.events.flatMap(({ decoded, row, fresh }) =>
    decoded.emailId !== null && ((fresh && row.status === "unmatched") || stillParked.has(row.svixId))
      ? [unmatchedEvent({ ...decoded, emailId: decoded.emailId })]
      : [],
  );
  return {
    outcomes: new Map(batch.events.map(({ row, fresh }) => [row.svixId, fresh ? row.status : "duplicate"])),
    adopted: batch.adopted,
    unmatched,
    invalid: batch.events.flatMap(({ decoded, fresh }) =>
      fresh && decoded.category === "invalid"
        ? [{ svixId: decoded.svixId, type: decoded.type, problem: decoded.problem ?? "" }]
        : [],
    ),
    suppressed,
  };
}

/** Reconcile a batch of events in one transaction: log → apply → side effects → summarise. */
export async function reconcileEvents(
  pool: SqlPool,
  incoming: IncomingEvent[],
  rules: SuppressionRules,
  cache: ParsedEventCache,
  { reprocess = [] }: { reprocess?: string[] } = {},
): Promise<ReconcileResult> {
  const decoded = [...new Map(incoming.map((item) => [item.svixId, decodeEvent(item)])).values()];
  return withSqlTransaction(pool, async (client) => {
    const batch = await logEvents(client, decoded, reprocess);
    const applying = newlyApplied(batch);
    const applyWrites = await applyEvents(client, batch, applying, cache);
    const sideEffects = await runSideEffects(client, batch, applying, rules);
    await writeTogether(client, [...applyWrites, ...sideEffects.writes]);
    return summarise(client, batch, sideEffects.created);
  });
}

/** What adopting the parked events of some email ids did. */
export interface AdoptedParked {
  /** The parked events now applied to the notifications carrying their email ids. */
  adopted: StoredEvent[];
  /** The email ids a notification carries: every event parked for them is applied now. */
  carried: string[];
  /** Suppressions their side effects created (tenant scope). */
  suppressed: CreatedSuppression[];
}

/**
 * Apply at once, in one transaction, the events parked for these email ids now that notifications
 * carry them: each is adopted by its notification, as a batch adopts those of the email ids it
 * matches.
 */
export async function adoptParkedEvents(
  pool: SqlPool,
  emailIds: string[],
  rules: SuppressionRules,
  cache: ParsedEventCache,
): Promise<AdoptedParked> {
  return withSqlTransaction(pool, async (client) => {
    const locked = await notificationMatching.lockByEmailIds(client, emailIds);
    const { notificationOf, counters } = lockedMaps(locked);
    const { adopted, applied: deliveryBefore } = await events.appendAndAdopt(client, [], {
      emailIds: [...notificationOf.keys()],
      notificationIds: [...notificationOf.values()],
    });
    const applying = adopted.map(adoptedEvent);
    const applyWrites = await notificationWrites(client, applying, deliveryBefore, cache, counters);
    // Their side effects ran when they were logged, unless the list is the notification's tenant's.
    const sideEffects = rules.scope === "tenant" ? await sideEffectsOfApplied(client, applying, rules) : noEffects();
    await writeTogether(client, [...applyWrites, ...sideEffects.writes]);
    return { adopted, carried: [...notificationOf.keys()], suppressed: sideEffects.created };
  });
}
