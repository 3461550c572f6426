import { makeEvent, parseResendEvent, RESEND_EVENT_TYPES, type ResendEvent } from "@mailstate/resend-events";
import { describe, expect, it } from "vitest";
import { foldEvents, type LoggedEvent } from "./fold.ts";
import { advanceDelivery, deliveryMachine, initialDeliverySnapshot, nextDeliveryState } from "./machine.ts";
import { DELIVERY_STATES, type DeliveryState, TERMINAL_STATES } from "./states.ts";

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
  "email.canceled",
  "email.suppressed",
] as const;

const EXPECTED: Record<DeliveryState, readonly DeliveryState[]> = {
  recorded: [
    "scheduled",
    "sent",
    "delivery_delayed",
    "delivered",
    "bounced",
    "complained",
    "failed",
    "canceled",
    "suppressed",
  ],
  scheduled: [
    "scheduled",
    "sent",
    "delivery_delayed",
    "delivered",
    "bounced",
    "complained",
    "failed",
    "canceled",
    "suppressed",
  ],
  sent: ["sent", "sent", "delivery_delayed", "delivered", "bounced", "complained", "failed", "canceled", "suppressed"],
  delivery_delayed: [
    "delivery_delayed",
    "delivery_delayed",
    "delivery_delayed",
    "delivered",
    "bounced",
    "complained",
    "failed",
    "canceled",
    "suppressed",
  ],
  delivered: [
    "delivered",
    "delivered",
    "delivered",
    "delivered",
    "bounced",
    "complained",
    "failed",
    "canceled",
    "suppressed",
  ],
  bounced: Array(9).fill("bounced"),
  complained: Array(9).fill("complained"),
  failed: Array(9).fill("failed"),
  canceled: Array(9).fill("canceled"),
  suppressed: Array(9).fill("suppressed"),
};

const UNKNOWN_TYPE = "email.future_thing";
/** Resend's types, the machine's `email.canceled` (an `email.failed` whose reason is canceled) and one Resend may add. */
const ALL_EVENT_TYPES = [...RESEND_EVENT_TYPES, "email.canceled", UNKNOWN_TYPE] as const;

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
  canceled: ["email.scheduled", "email.canceled"],
  suppressed: ["email.suppressed"],
};

function eventOf(type: string, createdAt: string): ResendEvent {
  // What Resend sends for a scheduled send cancelled before it went out.
  if (type === "email.canceled")
    return makeEvent("email.failed", { created_at: createdAt, data: { failed: { reason: "canceled" } } });
  return (RESEND_EVENT_TYPES as readonly string[]).includes(type)
    ? makeEvent(type as (typeof RESEND_EVENT_TYPES)[number], { created_at: createdAt })
    : parseResendEvent({ type, created_at: createdAt, data: { email_id: "4ef9a417-02e9-4d39-ad75-9611e0fcc33c" } });
}

const cases = DELIVERY_STATES.flatMap((state) =>
  ALL_EVENT_TYPES.map((type) => [state, type, expectedNext(state, type)] as const),
);

describe("delivery machine, every state × every event type", () => {
  it("the table above is the whole machine: a row for each of its states, a column for each event it takes", () => {
    // A state or an event type added to the machine and not to the table fails here, so the cases
    // below can never silently skip one.
    expect(Object.keys(EXPECTED).sort()).toEqual(Object.keys(deliveryMachine.states).sort());
    expect([...deliveryMachine.events].sort()).toEqual([...DELIVERY_COLUMNS].sort());
    for (const row of Object.values(EXPECTED)) expect(row).toHaveLength(DELIVERY_COLUMNS.length);
    // Every event type Resend sends, plus one it may add, is tried in every state.
    expect(ALL_EVENT_TYPES).toEqual(expect.arrayContaining([...DELIVERY_COLUMNS, "email.opened", UNKNOWN_TYPE]));
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

  it("agrees with a reference rule written as ranks: forward only, into any terminal state, never out of one", () => {
    // An oracle that does not read the table above or the machine: each event names its own state,
    // and the notification moves there exactly when that state ranks above where it is.
    const RANK: Record<DeliveryState, number> = {
      recorded: 0,
      scheduled: 1,
      sent: 2,
      delivery_delayed: 3,
      delivered: 4,
      bounced: 5,
      complained: 5,
      failed: 5,
      canceled: 5,
      suppressed: 5,
    };
    const reference = (from: DeliveryState, type: string): DeliveryState => {
      const to = type.startsWith("email.") ? (type.slice("email.".length) as DeliveryState) : from;
      return Object.hasOwn(RANK, to) && RANK[to] > RANK[from] ? to : from;
    };
    for (const from of DELIVERY_STATES) {
      for (const type of ALL_EVENT_TYPES) {
        expect(nextDeliveryState(from, type), `${from} + ${type}`).toBe(reference(from, type));
      }
    }
  });
});
