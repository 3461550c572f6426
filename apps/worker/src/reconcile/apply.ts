// Applying events to their notifications: every notification they touch is projected again (their
// opens and clicks are in the engagement log already: events.appendAndAdopt wrote them). It runs
// exactly once per event because its trigger happens once: the event logged or adopted as applied.
import {
  type AppliedRef,
  type BatchWrite,
  type EngagementCounters,
  notificationProjections,
  outbox,
  reputation,
  type SqlClient,
} from "@mailstate/db";
import { isEmailEvent } from "@mailstate/resend-events";
import type { ParsedEventCache } from "./event-cache.ts";
import { projectLocked } from "./project.ts";
import { rollupChanges } from "./rollup.ts";
import type { LoggedEvent } from "./side-effects.ts";

export interface AppliedEvent extends LoggedEvent {
  notificationId: string;
}

/** The Message-ID each notification's newly applied events carry (the first one found). */
function messageIdsOf(applied: AppliedEvent[]): Map<string, string> {
  const found = new Map<string, string>();
  for (const { event, notificationId } of applied) {
    const messageId = isEmailEvent(event) ? event.data.message_id : undefined;
    if (messageId && !found.has(notificationId)) found.set(notificationId, messageId);
  }
  return found;
}

/** The earliest time of each notification's newly applied delivery events (opens and clicks are not in delivery_events). */
function firstEventsOf(applied: AppliedEvent[]): Map<string, Date> {
  const first = new Map<string, Date>();
  for (const { event, notificationId, occurredAt } of applied) {
    if (event.type === "email.opened" || event.type === "email.clicked") continue;
    const known = first.get(notificationId);
    if (!known || occurredAt < known) first.set(notificationId, occurredAt);
  }
  return first;
}

/**
 * The writes that apply newly applied events: the projection of every notification they touch, the reputation rollups' change (left to the
 * caller to run, with the batch's other writes), and the outbox's `notification.state_changed`
 * message of each whose state changes (it must run in the same writeTogether as the projections: see
 * outbox.stateChanges). `deliveryBefore` lists the delivery events those notifications had applied before this
 * transaction (events.appendAndAdopt leaves out opens and clicks; their counts come from the
 * stored projection: `stored`, the counters read when the notifications were locked).
 */
export async function notificationWrites(
  client: SqlClient,
  applied: AppliedEvent[],
  deliveryBefore: AppliedRef[],
  cache: ParsedEventCache,
  stored: ReadonlyMap<string, EngagementCounters>,
): Promise<BatchWrite[]> {
  for (const { svixId, event } of applied) cache.set(svixId, event);
  const touched = new Set(applied.map((row) => row.notificationId));
  const { projections, parsed } = await projectLocked(client, touched, deliveryBefore, applied, cache, stored);
  // The events applied now are in `parsed` (projectLocked folded them): what they change of the rollups.
  const changes = rollupChanges(touched, deliveryBefore, applied, parsed);
  return [
    notificationProjections.projectionUpdate(projections, {
      messageIds: messageIdsOf(applied),
      firstEventAt: firstEventsOf(applied),
    }),
    outbox.stateChanges(projections),
    reputation.change(changes),
  ].filter((write): write is BatchWrite => write !== null);
}
