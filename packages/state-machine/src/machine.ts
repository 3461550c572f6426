// The delivery state machine. Pure: no actions, no actors, no context; the
// fold drives it with xstate's `transition()`.
import { getInitialSnapshot, type SnapshotFrom, setup, transition } from "xstate";
import { type DeliveryState, movesForward, type ProgressState } from "./states.ts";

/** The webhook event types that move delivery state, and the state each one moves to. */
export const DELIVERY_EVENT_TARGETS = {
  "email.scheduled": "scheduled",
  "email.sent": "sent",
  "email.delivery_delayed": "delivery_delayed",
  "email.delivered": "delivered",
  "email.bounced": "bounced",
  "email.complained": "complained",
  "email.failed": "failed",
  "email.suppressed": "suppressed",
} as const satisfies Record<string, DeliveryState>;

export type DeliveryEventType = keyof typeof DELIVERY_EVENT_TARGETS;
export type DeliveryMachineEvent = { type: DeliveryEventType };

export const DELIVERY_EVENT_TYPES = Object.freeze(Object.keys(DELIVERY_EVENT_TARGETS)) as readonly DeliveryEventType[];

export function isDeliveryEventType(type: string): type is DeliveryEventType {
  return Object.hasOwn(DELIVERY_EVENT_TARGETS, type);
}

interface ForwardParams {
  from: DeliveryState;
  to: DeliveryState;
}

// Every non-terminal state lists every delivery event; the guard lets through
// only those that move forward, so the rank rule lives in one place.
function forwardFrom(from: ProgressState) {
  const entries = DELIVERY_EVENT_TYPES.map((type) => {
    const to = DELIVERY_EVENT_TARGETS[type];
    const params: ForwardParams = { from, to };
    return [type, { target: to, guard: { type: "movesForward" as const, params } }] as const;
  });
  return Object.fromEntries(entries) as {
    [E in DeliveryEventType]: {
      target: (typeof DELIVERY_EVENT_TARGETS)[E];
      guard: { type: "movesForward"; params: ForwardParams };
    };
  };
}

export const deliveryMachine = setup({
  types: { events: {} as DeliveryMachineEvent },
  guards: {
    movesForward: (_, params: ForwardParams) => movesForward(params.from, params.to),
  },
}).createMachine({
  id: "delivery",
  initial: "recorded",
  states: {
    recorded: { on: forwardFrom("recorded") },
    scheduled: { on: forwardFrom("scheduled") },
    sent: { on: forwardFrom("sent") },
    delivery_delayed: { on: forwardFrom("delivery_delayed") },
    delivered: { on: forwardFrom("delivered") },
    bounced: { type: "final" },
    complained: { type: "final" },
    failed: { type: "final" },
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
