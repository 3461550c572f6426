import { makeEvent, parseResendEvent, RESEND_EVENT_TYPES, type ResendEvent } from "@mailstate/resend-events";
import { describe, expect, it } from "vitest";
import { foldEvents, type LoggedEvent } from "./fold.ts";
import { advanceDelivery, deliveryMachine, initialDeliverySnapshot, nextDeliveryState } from "./machine.ts";
import { DELIVERY_STATES, type DeliveryState, movesForward, TERMINAL_STATES } from "./states.ts";

// Written out by hand, not derived from the code under test. Columns: the
// event types that move delivery state, in this order.
const DELIVERY_COLUMNS = [
  "email.scheduled",
  "email.sent",
  "email.delivery_delayed",
  "email.delivered",
  "email.bounced",
  "email.complained",
  "email.failed",
  "email.suppressed",
] as const;

const EXPECTED: Record<DeliveryState, readonly DeliveryState[]> = {
  recorded: ["scheduled", "sent", "delivery_delayed", "delivered", "bounced", "complained", "failed", "suppressed"],
  scheduled: ["scheduled", "sent", "delivery_delayed", "delivered", "bounced", "complained", "failed", "suppressed"],
  sent: ["sent", "sent", "delivery_delayed", "delivered", "bounced", "complained", "failed", "suppressed"],
  delivery_delayed: [
    "delivery_delayed",
    "delivery_delayed",
    "delivery_delayed",
    "delivered",
    "bounced",
    "complained",
    "failed",
    "suppressed",
  ],
  delivered: ["delivered", "delivered", "delivered", "delivered", "bounced", "complained", "failed", "suppressed"],
  bounced: ["bounced", "bounced", "bounced", "bounced", "bounced", "bounced", "bounced", "bounced"],
  complained: [
    "complained",
    "complained",
    "complained",
    "complained",
    "complained",
    "complained",
    "complained",
    "complained",
  ],
  failed: ["failed", "failed", "failed", "failed", "failed", "failed", "failed", "failed"],
  suppressed: [
    "suppressed",
    "suppressed",
    "suppressed",
    "suppressed",
    "suppressed",
    "suppressed",
    "suppressed",
    "suppressed",
  ],
};

const UNKNOWN_TYPE = "email.future_thing";
const ALL_EVENT_TYPES = [...RESEND_EVENT_TYPES, UNKNOWN_TYPE] as const;

function expectedNext(state: DeliveryState, type: string): DeliveryState {
  const column = DELIVERY_COLUMNS.indexOf(type as (typeof DELIVERY_COLUMNS)[number]);
  return column === -1 ? state : (EXPECTED[state][column] ?? state);
}

// A shortest event path from `recorded` to each state.
const PATH_TO: Record<DeliveryState, readonly (typeof DELIVERY_COLUMNS)[number][]> = {
  recorded: [],
  scheduled: ["email.scheduled"],
  sent: ["email.scheduled", "email.sent"],
  delivery_delayed: ["email.sent", "email.delivery_delayed"],
  delivered: ["email.sent", "email.delivered"],
  bounced: ["email.sent", "email.bounced"],
  complained: ["email.sent", "email.delivered", "email.complained"],
  failed: ["email.failed"],
  suppressed: ["email.suppressed"],
};

function eventOf(type: string, createdAt: string): ResendEvent {
  return (RESEND_EVENT_TYPES as readonly string[]).includes(type)
    ? makeEvent(type as (typeof RESEND_EVENT_TYPES)[number], { created_at: createdAt })
    : parseResendEvent({ type, created_at: createdAt, data: { email_id: "4ef9a417-02e9-4d39-ad75-9611e0fcc33c" } });
}

const cases = DELIVERY_STATES.flatMap((state) =>
  ALL_EVENT_TYPES.map((type) => [state, type, expectedNext(state, type)] as const),
);

describe("delivery machine, every state × every event type", () => {
  it("covers 9 states × 20 event types", () => {
    expect(cases).toHaveLength(DELIVERY_STATES.length * ALL_EVENT_TYPES.length);
    expect(cases).toHaveLength(180);
  });

  it.each(cases)("%s + %s → %s (machine)", (state, type, expected) => {
    expect(nextDeliveryState(state, type)).toBe(expected);
  });

  it.each(cases)("%s + %s → %s (fold, the event arriving last)", (state, type, expected) => {
    const prefix: LoggedEvent[] = PATH_TO[state].map((t, i) => ({
      svixId: `msg_prefix_${i}`,
      event: eventOf(t, `2026-11-22T10:00:0${i}.000000+00:00`),
    }));
    const last = { svixId: "msg_last", event: eventOf(type, "2026-11-22T10:00:09.000001+00:00") };
    expect(foldEvents(prefix).state).toBe(state);
    expect(foldEvents([...prefix, last]).state).toBe(expected);
    // Arrival order is irrelevant: the same when the event arrives first.
    expect(foldEvents([last, ...prefix]).state).toBe(expected);
  });
});

describe("delivery machine", () => {
  it("has exactly the delivery states, starting at recorded", () => {
    expect(Object.keys(deliveryMachine.states).sort()).toEqual([...DELIVERY_STATES].sort());
    expect(initialDeliverySnapshot().value).toBe("recorded");
  });

  it.each(TERMINAL_STATES)("makes %s final (the machine is done there)", (state) => {
    const snapshot = advanceDelivery(deliveryMachine.resolveState({ value: "sent" }), `email.${state}`);
    expect(snapshot.value).toBe(state);
    expect(snapshot.status).toBe("done");
    expect(advanceDelivery(snapshot, "email.delivered")).toBe(snapshot);
  });

  it("ignores opens and clicks in every state", () => {
    for (const state of DELIVERY_STATES) {
      expect(nextDeliveryState(state, "email.opened")).toBe(state);
      expect(nextDeliveryState(state, "email.clicked")).toBe(state);
    }
  });

  it("agrees with movesForward on every pair of states", () => {
    for (const from of DELIVERY_STATES) {
      for (const column of DELIVERY_COLUMNS) {
        const to = expectedNext("recorded", column);
        expect(nextDeliveryState(from, column) !== from).toBe(movesForward(from, to) && to !== from);
      }
    }
  });
});
