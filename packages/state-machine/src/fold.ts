// The one way a notification's state is computed: its logged events,
// deduplicated by svix-id and ordered by their own time, run through the machine.
import { parseResendTimestamp, type ResendEvent, type ResendTimestamp } from "@mailstate/resend-events";
import { classifyEvent, type EventClass } from "./classify.ts";
import {
  type DeliveryEventType,
  initialDeliverySnapshot,
  isDeliveryEventType,
  machineEventTypeOf,
  nextDeliveryState,
  stateOf,
} from "./machine.ts";
import type { DeliveryState } from "./states.ts";

/** A verified webhook event as the log holds it. */
export interface LoggedEvent {
  svixId: string;
  event: ResendEvent;
}

export interface StateEvent {
  svixId: string;
  type: DeliveryEventType;
  occurredAt: Date;
}

/** A notification's projection. */
export interface DeliverySnapshot {
  state: DeliveryState;
  /** The event that moved the notification into `state`; null while `recorded`. */
  stateEvent: StateEvent | null;
  openCount: number;
  clickCount: number;
  firstOpenedAt: Date | null;
  firstClickedAt: Date | null;
}

export interface TimelineEntry {
  svixId: string;
  event: ResendEvent;
  /** The event's own time (top-level `created_at`), to the millisecond. */
  occurredAt: Date;
  /** The same instant to the microsecond, as a sortable UTC string. */
  occurredAtKey: string;
  kind: EventClass;
  stateBefore: DeliveryState;
  stateAfter: DeliveryState;
  /** Whether this event changed the state. */
  moved: boolean;
}

export const INITIAL_DELIVERY_SNAPSHOT: Readonly<DeliverySnapshot> = Object.freeze({
  state: "recorded",
  stateEvent: null,
  openCount: 0,
  clickCount: 0,
  firstOpenedAt: null,
  firstClickedAt: null,
});

export interface OrderedEvent extends LoggedEvent {
  at: ResendTimestamp;
}

/**
 * The events once each (a svix-id is one delivery, so a repeat is dropped),
 * ordered by the event's top-level `created_at` (not `data.created_at`, the
 * email's creation time) to the microsecond, ties broken by svix-id.
 */
export function orderEvents(events: readonly LoggedEvent[]): OrderedEvent[] {
  const bySvixId = new Map<string, OrderedEvent>();
  for (const { svixId, event } of events) {
    const candidate = { svixId, event, at: parseResendTimestamp(event.created_at) };
    const kept = bySvixId.get(svixId);
    // Should a svix-id ever carry two payloads, keep the earlier one whatever
    // the arrival order, so the outcome still does not depend on it.
    if (!kept || compareOrdered(candidate, kept) < 0) bySvixId.set(svixId, candidate);
  }
  return [...bySvixId.values()].sort(compareOrdered);
}

function compareOrdered(a: OrderedEvent, b: OrderedEvent): number {
  if (a.at.epochMicros !== b.at.epochMicros) return a.at.epochMicros < b.at.epochMicros ? -1 : 1;
  if (a.svixId !== b.svixId) return a.svixId < b.svixId ? -1 : 1;
  if (a.event.type !== b.event.type) return a.event.type < b.event.type ? -1 : 1;
  return 0;
}

const INITIAL_STATE = stateOf(initialDeliverySnapshot());

function run(events: readonly LoggedEvent[]): { snapshot: DeliverySnapshot; entries: TimelineEntry[] } {
  let state = INITIAL_STATE;
  const snapshot: DeliverySnapshot = { ...INITIAL_DELIVERY_SNAPSHOT };
  const entries: TimelineEntry[] = [];
  for (const { svixId, event, at } of orderEvents(events)) {
    const stateBefore = state;
    state = nextDeliveryState(state, machineEventTypeOf(event));
    const stateAfter = state;
    const kind = classifyEvent(event);
    const moved = stateAfter !== stateBefore;
    // Only delivery event types move the machine; the type check says so to the compiler. The
    // state event keeps the logged type (a cancelled send's is `email.failed`).
    if (moved && isDeliveryEventType(event.type)) {
      snapshot.state = stateAfter;
      snapshot.stateEvent = { svixId, type: event.type, occurredAt: at.date };
    }
    // Engagement counts whatever the state, a terminal one included.
    if (event.type === "email.opened") {
      snapshot.openCount += 1;
      snapshot.firstOpenedAt ??= at.date;
    } else if (event.type === "email.clicked") {
      snapshot.clickCount += 1;
      snapshot.firstClickedAt ??= at.date;
    }
    entries.push({ svixId, event, occurredAt: at.date, occurredAtKey: at.key, kind, stateBefore, stateAfter, moved });
  }
  return { snapshot, entries };
}

/** Folds one notification's events into its state and engagement counts. Order and repeats of the input do not matter. */
export function foldEvents(events: readonly LoggedEvent[]): DeliverySnapshot {
  return run(events).snapshot;
}

/** The events as the fold saw them, deduplicated and in order, each with the state after it. */
export function timeline(events: readonly LoggedEvent[]): TimelineEntry[] {
  return run(events).entries;
}
