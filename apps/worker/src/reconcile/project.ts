// A notification's projection is the fold of its applied events: computed here, for the worker and
// the rebuild alike.
import type { DbClient, Projection } from "@mailstate/db";
import { events } from "@mailstate/db";
import { parseResendEvent } from "@mailstate/resend-events";
import { foldEvents, type LoggedEvent } from "@mailstate/state-machine";

export function toLoggedEvents(rows: { svixId: string; payload: unknown }[]): LoggedEvent[] {
  return rows.map((row) => ({ svixId: row.svixId, event: parseResendEvent(row.payload) }));
}

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

/** Fold the applied events of each notification; answers id → projection. */
export async function computeProjections(db: DbClient, notificationIds: string[]): Promise<Map<string, Projection>> {
  const rows = await events.listAppliedFor(db, notificationIds);
  const byNotification = new Map<string, { svixId: string; payload: unknown }[]>(notificationIds.map((id) => [id, []]));
  for (const row of rows) {
    if (row.notificationId) byNotification.get(row.notificationId)?.push(row);
  }
  return new Map([...byNotification].map(([id, list]) => [id, projectionOf(toLoggedEvents(list))]));
}
