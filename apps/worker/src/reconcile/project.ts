// A notification's projection is the fold of its applied events: computed here, for the worker and
// the rebuild alike. The rebuild folds every event; the worker folds the delivery events only and
// adds this transaction's opens and clicks to the stored counters, which comes to the same.
import {
  type AppliedRef,
  type EngagementCounters,
  engagement,
  events,
  type Projection,
  type SqlClient,
  type SqlPool,
} from "@mailstate/db";
import { parseResendEvent, type ResendEvent } from "@mailstate/resend-events";
import { foldEvents, type LoggedEvent } from "@mailstate/state-machine";
import { ParsedEventCache } from "./event-cache.ts";

export function projectionOf(inputs: LoggedEvent[]): Projection {
  const snapshot = foldEvents(inputs);
  return {
    state: snapshot.state,
    stateChangedAt: snapshot.stateEvent?.occurredAt ?? null,
    stateEventType: snapshot.stateEvent?.type ?? null,
    stateEventId: snapshot.stateEvent?.svixId ?? null,
    openCount: snapshot.openCount,
    clickCount: snapshot.clickCount,
    firstOpenedAt: snapshot.firstOpenedAt,
    firstClickedAt: snapshot.firstClickedAt,
  };
}

/**
 * The events of these refs, parsed: from the cache, else read from the log and parsed again (the
 * log holds the raw payload). Answers svix-id → event.
 */
async function parseRefs(
  client: SqlClient | SqlPool,
  refs: AppliedRef[],
  cache: ParsedEventCache,
): Promise<Map<string, ResendEvent>> {
  // What the cache holds is taken once, before anything is added: adding may evict.
  const parsed = new Map<string, ResendEvent>();
  const missing: string[] = [];
  for (const { svixId } of refs) {
    const event = cache.get(svixId);
    if (event) parsed.set(svixId, event);
    else missing.push(svixId);
  }
  const payloads = await events.payloadsOf(client, missing);
  for (const svixId of missing) {
    if (parsed.has(svixId)) continue;
    const event = parseResendEvent(payloads.get(svixId));
    parsed.set(svixId, event);
    cache.set(svixId, event);
  }
  return parsed;
}

/** Fold the given applied events of each notification, parsed already; answers id → projection. */
function projectParsed(
  notificationIds: Iterable<string>,
  refs: AppliedRef[],
  parsed: ReadonlyMap<string, ResendEvent>,
): Map<string, Projection> {
  const byNotification = new Map<string, LoggedEvent[]>([...notificationIds].map((id) => [id, []]));
  for (const { svixId, notificationId } of refs) {
    const event = parsed.get(svixId);
    if (event) byNotification.get(notificationId)?.push({ svixId, event });
  }
  return new Map([...byNotification].map(([id, logged]) => [id, projectionOf(logged)]));
}

/** Fold every applied event of these notifications, as the log holds them now: delivery events and opens and clicks. */
export async function computeProjections(
  client: SqlClient | SqlPool,
  notificationIds: string[],
  cache = new ParsedEventCache(0),
): Promise<Map<string, Projection>> {
  const [delivery, engaged] = await Promise.all([
    events.appliedEventIdsOf(client, notificationIds),
    engagement.loggedOf(client, notificationIds),
  ]);
  const parsed = await parseRefs(client, delivery, cache);
  for (const row of engaged) parsed.set(row.svixId, parseResendEvent(row.payload));
  return projectParsed(notificationIds, [...delivery, ...engaged], parsed);
}

function earlier(a: Date | null, b: Date | null): Date | null {
  if (a === null || b === null) return a ?? b;
  return a.getTime() <= b.getTime() ? a : b;
}

/**
 * A projection folded from delivery events and newly applied engagement only, completed with the
 * stored counters. Adding is exact because an event flips to applied once; the first open (click)
 * is the earlier of the stored one and the new ones, as the fold's event-time order makes it.
 */
function withStoredEngagement(folded: Projection, stored: EngagementCounters | undefined): Projection {
  if (!stored) return folded;
  return {
    ...folded,
    openCount: stored.openCount + folded.openCount,
    clickCount: stored.clickCount + folded.clickCount,
    firstOpenedAt: earlier(stored.firstOpenedAt, folded.firstOpenedAt),
    firstClickedAt: earlier(stored.firstClickedAt, folded.firstClickedAt),
  };
}

/**
 * The worker's projection of notifications it holds locked: the fold of their delivery events
 * (`deliveryBefore`, as events.appendAndAdopt lists them) and of the events applied in this transaction,
 * with the engagement counters carried over from the stored row (`stored`, read with the lock:
 * notificationMatching.lockMatches, lockByEmailIds). It reads no open or click the notification had
 * before, so an event costs the same on a notification with 10,000 opens. Also answers the parsed
 * events, for what else the batch derives from them (the reputation rollups).
 */
export async function projectLocked(
  client: SqlClient,
  notificationIds: Set<string>,
  deliveryBefore: AppliedRef[],
  newlyApplied: (AppliedRef & { event: ResendEvent })[],
  cache: ParsedEventCache,
  stored: ReadonlyMap<string, EngagementCounters>,
): Promise<{ projections: Map<string, Projection>; parsed: Map<string, ResendEvent> }> {
  const refs = [...deliveryBefore, ...newlyApplied];
  // The events applied now are in hand (an open or click is not in delivery_events to be read again).
  const parsed = await parseRefs(client, deliveryBefore, cache);
  for (const { svixId, event } of newlyApplied) parsed.set(svixId, event);
  const folded = projectParsed(notificationIds, refs, parsed);
  const projections = new Map(
    [...folded].map(([id, projection]) => [id, withStoredEngagement(projection, stored.get(id))]),
  );
  return { projections, parsed };
}
