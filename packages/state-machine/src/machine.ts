// The delivery state machine, which is also its spec: every transition is written out below. Pure:
// no actions, no actors, no context; the fold drives it with xstate's `transition()`.
import { getInitialSnapshot, type SnapshotFrom, setup, transition } from "xstate";
import type { DeliveryState } from "./states.ts";

/**
 * The event types that move delivery state, and the state each one moves to. All are Resend's
 * webhook types but `email.canceled`: Resend reports a scheduled send cancelled before it went out
 * as `email.failed` with the reason `canceled` (and its API's `last_event` as `canceled`), which the
 * machine takes as `email.canceled` (machineEventTypeOf): nothing went wrong with the address or
 * the send, so it gets a final state of its own.
 */
export const DELIVERY_EVENT_TARGETS = {
  "email.scheduled": "scheduled",
  "email.sent": "sent",
  "email.delivery_delayed": "delivery_delayed",
  "email.delivered": "delivered",
  "email.bounced": "bounced",
  "email.complained": "complained",
  "email.failed": "failed",
  "email.canceled": "canceled",
  "email.suppressed": "suppressed",
} as const satisfies Record<string, DeliveryState>;

export type DeliveryEventType = keyof typeof DELIVERY_EVENT_TARGETS;
export type DeliveryMachineEvent = { type: DeliveryEventType };

export const DELIVERY_EVENT_TYPES = Object.freeze(Object.keys(DELIVERY_EVENT_TARGETS)) as readonly DeliveryEventType[];

export function isDeliveryEventType(type: string): type is DeliveryEventType {
  return Object.hasOwn(DELIVERY_EVENT_TARGETS, type);
}

/**
 * The machine event a logged event is: its type, except `email.failed` whose `data.failed.reason` is
 * `canceled`, which is `email.canceled` (see DELIVERY_EVENT_TARGETS).
 */
export function machineEventTypeOf(event: { type: string; data?: unknown }): string {
  if (event.type !== "email.failed") return event.type;
  const failed = (event.data as { failed?: { reason?: unknown } } | null | undefined)?.failed;
  return failed?.reason === "canceled" ? "email.canceled" : event.type;
}

/** The events a state listens to; each moves to its own state (DELIVERY_EVENT_TARGETS), checked by the compiler. */
type Moves = { readonly [E in DeliveryEventType]?: (typeof DELIVERY_EVENT_TARGETS)[E] };

/** The events that end a delivery, whatever it had reached; taken from every state that is not final. */
const ENDS = {
  "email.bounced": "bounced",
  "email.complained": "complained",
  "email.failed": "failed",
  "email.canceled": "canceled",
  "email.suppressed": "suppressed",
} as const satisfies Moves;

/**
 * The spec, written out. A state lists the events that move it; XState ignores every other event,
 * so a late or repeated event (`sent` after `delivered`, `delivered` after `bounced`) changes
 * nothing. Progress only goes forward, recorded → scheduled → sent → delivery_delayed → delivered,
 * skipping steps when events skip them; the five terminal states are final.
 */
export const deliveryMachine = setup({
  types: { events: {} as DeliveryMachineEvent },
}).createMachine({
  id: "delivery",
  initial: "recorded",
  states: {
    recorded: {
      on: {
        "email.scheduled": "scheduled",
        "email.sent": "sent",
        "email.delivery_delayed": "delivery_delayed",
        "email.delivered": "delivered",
        ...ENDS,
      } satisfies Moves,
    },
    scheduled: {
      on: {
        "email.sent": "sent",
        "email.delivery_delayed": "delivery_delayed",
        "email.delivered": "delivered",
        ...ENDS,
      } satisfies Moves,
    },
    sent: {
      on: { "email.delivery_delayed": "delivery_delayed", "email.delivered": "delivered", ...ENDS } satisfies Moves,
    },
    delivery_delayed: { on: { "email.delivered": "delivered", ...ENDS } satisfies Moves },
    delivered: { on: { ...ENDS } satisfies Moves },
    bounced: { type: "final" },
    complained: { type: "final" },
    failed: { type: "final" },
    canceled: { type: "final" },
    suppressed: { type: "final" },
  },
});

export type DeliveryMachineSnapshot = SnapshotFrom<typeof deliveryMachine>;

export function initialDeliverySnapshot(): DeliveryMachineSnapshot {
  return getInitialSnapshot(deliveryMachine);
}

/** The snapshot after one event; event types that do not move delivery state leave it as it is. */
export function advanceDelivery(snapshot: DeliveryMachineSnapshot, eventType: string): DeliveryMachineSnapshot {
  if (!isDeliveryEventType(eventType)) return snapshot;
  const [next] = transition(deliveryMachine, snapshot, { type: eventType });
  return next;
}

export function stateOf(snapshot: DeliveryMachineSnapshot): DeliveryState {
  return snapshot.value;
}

// The machine is finite and its transitions pure, so each (state, event type) pair is computed by
// the machine once and remembered: folds run it for every event of a notification at every change.
const transitions = new Map<string, DeliveryState>();

/** The state a notification in `state` reaches on an event of `eventType`. */
export function nextDeliveryState(state: DeliveryState, eventType: string): DeliveryState {
  if (!isDeliveryEventType(eventType)) return state;
  const key = `${state} ${eventType}`;
  let next = transitions.get(key);
  if (next === undefined) {
    next = stateOf(advanceDelivery(deliveryMachine.resolveState({ value: state }), eventType));
    transitions.set(key, next);
  }
  return next;
}
