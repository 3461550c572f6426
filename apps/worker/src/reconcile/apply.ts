// Applying events to their notifications: the engagement log gets their opens and clicks, and every
// notification they touch is projected again. It runs exactly once per event because its trigger
// happens once: the row's flip to `applied`.
import {
  type AppliedRef,
  type BatchWrite,
  type EngagementCounters,
  type EngagementRow,
  engagement,
  notifications,
  outbox,
  reputation,
  type SqlClient,
} from "@mailstate/db";
import { isKnownEvent } from "@mailstate/resend-events";
import type { ParsedEventCache } from "./event-cache.ts";
import { projectLocked } from "./project.ts";
import { rollupChanges } from "./rollup.ts";
import type { LoggedEvent } from "./side-effects.ts";

export interface AppliedEvent extends LoggedEvent {
  notificationId: string;
}

function engagementRow(applied: AppliedEvent): EngagementRow | null {
  const { event, svixId, notificationId, occurredAt } = applied;
  if (!isKnownEvent(event)) return null;
  if (event.type === "email.opened") {
    return { svixId, notificationId, kind: "opened", occurredAt, link: null, userAgent: null, ipAddress: null };
  }
  if (event.type === "email.clicked") {
    const { link, userAgent, ipAddress } = event.data.click;
    return {
      svixId,
      notificationId,
      kind: "clicked",
      occurredAt,
      link,
      userAgent: userAgent ?? null,
      ipAddress: ipAddress ?? null,
    };
  }
  return null;
}

/**
 * The writes that apply newly applied events: their opens and clicks to the engagement log, and
 * the projection of every notification they touch, the reputation rollups' change (left to the
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
  const rows = applied.map(engagementRow).filter((row): row is EngagementRow => row !== null);
  // The events applied now are in `parsed` (projectLocked folded them): what they change of the rollups.
  const changes = rollupChanges(touched, deliveryBefore, applied, parsed);
  return [
    engagement.insertion(rows),
    notifications.projectionUpdate(projections),
    outbox.stateChanges(projections),
    reputation.change(changes),
  ].filter((write): write is BatchWrite => write !== null);
}
