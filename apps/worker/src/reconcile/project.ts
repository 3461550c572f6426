// A notification's projection is the fold of its applied events: computed here, for the worker and
// the rebuild alike.
import { type Projection, reconcileStore, type SqlClient, type SqlPool } from "@mailstate/db";
import { parseResendEvent } from "@mailstate/resend-events";
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
 * Fold the applied events of each notification; answers id → projection. Events missing from the
 * cache are read from the log and parsed again (the log holds the raw payload).
 */
export async function computeProjections(
  client: SqlClient | SqlPool,
  notificationIds: string[],
  cache = new ParsedEventCache(0),
): Promise<Map<string, Projection>> {
  const refs = await reconcileStore.appliedEventIdsOf(client, notificationIds);
  const missing = refs.filter((ref) => cache.get(ref.svixId) === undefined).map((ref) => ref.svixId);
  const payloads = await reconcileStore.payloadsOf(client, missing);
  const byNotification = new Map<string, LoggedEvent[]>(notificationIds.map((id) => [id, []]));
  for (const { svixId, notificationId } of refs) {
    let event = cache.get(svixId);
    if (!event) {
      event = parseResendEvent(payloads.get(svixId));
      cache.set(svixId, event);
    }
    byNotification.get(notificationId)?.push({ svixId, event });
  }
  return new Map([...byNotification].map(([id, logged]) => [id, projectionOf(logged)]));
}
