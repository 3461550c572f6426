// A notification's projection is the fold of its applied events: computed here, for the worker and
// the rebuild alike.
import { type Projection, reconcileStore, type SqlClient, type SqlPool } from "@mailstate/db";
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

export interface AppliedRef {
  svixId: string;
  notificationId: string;
}

/**
 * Fold the given applied events of each notification; answers id → projection. Events missing
 * from the cache are read from the log and parsed again (the log holds the raw payload).
 */
export async function projectRefs(
  client: SqlClient | SqlPool,
  notificationIds: Iterable<string>,
  refs: AppliedRef[],
  cache: ParsedEventCache,
): Promise<Map<string, Projection>> {
  // What the cache holds is taken once, before anything is added: adding may evict.
  const parsed = new Map<string, ResendEvent>();
  const missing: string[] = [];
  for (const { svixId } of refs) {
    const event = cache.get(svixId);
    if (event) parsed.set(svixId, event);
    else missing.push(svixId);
  }
  const payloads = await reconcileStore.payloadsOf(client, missing);
  for (const svixId of missing) {
    if (parsed.has(svixId)) continue;
    const event = parseResendEvent(payloads.get(svixId));
    parsed.set(svixId, event);
    cache.set(svixId, event);
  }
  const byNotification = new Map<string, LoggedEvent[]>([...notificationIds].map((id) => [id, []]));
  for (const { svixId, notificationId } of refs) {
    const event = parsed.get(svixId);
    if (event) byNotification.get(notificationId)?.push({ svixId, event });
  }
  return new Map([...byNotification].map(([id, logged]) => [id, projectionOf(logged)]));
}

/** Fold every applied event of these notifications, as the log holds them now. */
export async function computeProjections(
  client: SqlClient | SqlPool,
  notificationIds: string[],
  cache = new ParsedEventCache(0),
): Promise<Map<string, Projection>> {
  return projectRefs(client, notificationIds, await reconcileStore.appliedEventIdsOf(client, notificationIds), cache);
}
