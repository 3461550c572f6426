import {
  FIXTURE_EMAIL_ID,
  makeEvent,
  parseResendEvent,
  RESEND_EVENT_TYPES,
  type ResendEvent,
} from "@mailstate/resend-events";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { foldEvents, type LoggedEvent, timeline } from "./fold.ts";
import { DELIVERY_STATES, type DeliveryState, isTerminalState, PROGRESS_STATES } from "./states.ts";

const BASE_MS = Date.parse("2026-11-22T10:00:00Z");
/** `email.canceled` here is what Resend sends for a cancelled scheduled send: `email.failed`, reason canceled. */
const TYPES = [...RESEND_EVENT_TYPES, "email.canceled", "email.future_thing"] as const;

// Ticks of 500µs over a few milliseconds: ties are common (so the svix-id
// tie-break is exercised) and half the instants need microseconds.
const specArb = fc.record({
  svixId: fc.stringMatching(/^msg_[a-f0-9]{1,3}$/),
  type: fc.constantFrom(...TYPES),
  tick: fc.integer({ min: 0, max: 12 }),
  form: fc.constantFrom("z-millis", "utc-micros", "offset-micros"),
});
type Spec = typeof specArb extends fc.Arbitrary<infer T> ? T : never;

function createdAt({ tick, form }: Spec): string {
  const micros = tick * 500;
  const ms = BASE_MS + Math.floor(micros / 1000);
  const sub = String(micros % 1000).padStart(3, "0");
  if (form === "z-millis" && micros % 1000 === 0) return new Date(ms).toISOString();
  if (form === "offset-micros") {
    // The same instant, written two hours ahead with a +02:00 offset.
    return `${new Date(ms + 2 * 3_600_000).toISOString().slice(0, 23)}${sub}+02:00`;
  }
  return `${new Date(ms).toISOString().slice(0, 23)}${sub}+00:00`;
}

function build(spec: Spec): LoggedEvent {
  const at = createdAt(spec);
  const event: ResendEvent =
    spec.type === "email.future_thing"
      ? parseResendEvent({ type: spec.type, created_at: at, data: { email_id: FIXTURE_EMAIL_ID } })
      : spec.type === "email.canceled"
        ? makeEvent("email.failed", { created_at: at, data: { failed: { reason: "canceled" } } })
        : makeEvent(spec.type, { created_at: at });
  return { svixId: spec.svixId, event };
}

// The canonical order, computed here without the code under test.
function canonical(specs: readonly Spec[]): LoggedEvent[] {
  return [...specs]
    .sort((a, b) => a.tick - b.tick || (a.svixId < b.svixId ? -1 : a.svixId > b.svixId ? 1 : 0))
    .map(build);
}

// Arrival: every event of the set at least once, some more than once (a
// redelivery is a fresh copy), in any order.
const scenarioArb = fc.uniqueArray(specArb, { selector: (s) => s.svixId, maxLength: 14 }).chain((specs) => {
  const duplicates =
    specs.length === 0 ? fc.constant<number[]>([]) : fc.array(fc.nat({ max: specs.length - 1 }), { maxLength: 10 });
  return duplicates.chain((dups) => {
    const indices = [...specs.keys(), ...dups];
    return fc
      .shuffledSubarray(indices, { minLength: indices.length, maxLength: indices.length })
      .map((order) => ({ specs, arrival: order.map((i) => structuredClone(build(specs[i] as Spec))) }));
  });
});

const TARGET: Partial<Record<string, DeliveryState>> = {
  "email.scheduled": "scheduled",
  "email.sent": "sent",
  "email.delivery_delayed": "delivery_delayed",
  "email.delivered": "delivered",
  "email.bounced": "bounced",
  "email.complained": "complained",
  "email.failed": "failed",
  "email.canceled": "canceled",
  "email.suppressed": "suppressed",
};

/** A failure whose reason is canceled, read here without the code under test. */
const cancels = (event: ResendEvent) =>
  event.type === "email.failed" && (event.data as { failed?: { reason?: string } }).failed?.reason === "canceled";

// An oracle that does not use the machine: the first terminal event wins;
// without one, the furthest progress state reached, by the first event to reach it.
function oracle(ordered: readonly LoggedEvent[]): { state: DeliveryState; svixId: string | null } {
  let best: { state: DeliveryState; svixId: string | null } = { state: "recorded", svixId: null };
  for (const { svixId, event } of ordered) {
    const target = TARGET[cancels(event) ? "email.canceled" : event.type];
    if (!target) continue;
    if (isTerminalState(target)) return { state: target, svixId };
    const rank = PROGRESS_STATES.indexOf(target as (typeof PROGRESS_STATES)[number]);
    if (rank > PROGRESS_STATES.indexOf(best.state as (typeof PROGRESS_STATES)[number]))
      best = { state: target, svixId };
  }
  return best;
}

// The same rule, event by event: the events that move the state, in order, with the state each
// moves to. A terminal event moves a non-terminal state; a progress event only a lower one.
function oracleMoves(ordered: readonly LoggedEvent[]): { svixId: string; state: DeliveryState }[] {
  const moves: { svixId: string; state: DeliveryState }[] = [];
  let state: DeliveryState = "recorded";
  for (const { svixId, event } of ordered) {
    const target = TARGET[cancels(event) ? "email.canceled" : event.type];
    if (!target || isTerminalState(state)) continue;
    const ahead =
      isTerminalState(target) ||
      PROGRESS_STATES.indexOf(target as (typeof PROGRESS_STATES)[number]) >
        PROGRESS_STATES.indexOf(state as (typeof PROGRESS_STATES)[number]);
    if (!ahead) continue;
    state = target;
    moves.push({ svixId, state });
  }
  return moves;
}

describe("foldEvents properties", () => {
  it("folds every permutation, duplicates mixed in, to the snapshot of the sorted set", () => {
    fc.assert(
      fc.property(scenarioArb, ({ specs, arrival }) => {
        const sorted = canonical(specs);
        expect(foldEvents(arrival)).toEqual(foldEvents(sorted));
        expect(timeline(arrival)).toEqual(timeline(sorted));
      }),
      { numRuns: 300 },
    );
  });

  it("is idempotent: fold(events ++ events) = fold(events)", () => {
    fc.assert(
      fc.property(scenarioArb, ({ arrival }) => {
        expect(foldEvents([...arrival, ...arrival])).toEqual(foldEvents(arrival));
        expect(foldEvents([...arrival, ...structuredClone(arrival).reverse()])).toEqual(foldEvents(arrival));
      }),
      { numRuns: 200 },
    );
  });

  it("agrees with an oracle that does not use the machine", () => {
    fc.assert(
      fc.property(scenarioArb, ({ specs, arrival }) => {
        const sorted = canonical(specs);
        const expected = oracle(sorted);
        const snapshot = foldEvents(arrival);
        expect(snapshot.state).toBe(expected.state);
        expect(snapshot.stateEvent?.svixId ?? null).toBe(expected.svixId);
        expect(snapshot.openCount).toBe(specs.filter((s) => s.type === "email.opened").length);
        expect(snapshot.clickCount).toBe(specs.filter((s) => s.type === "email.clicked").length);
      }),
      { numRuns: 300 },
    );
  });

  it("marks as moved exactly the events an oracle says move the state, each with the state it moved to", () => {
    fc.assert(
      fc.property(scenarioArb, ({ specs, arrival }) => {
        const entries = timeline(arrival);
        const moved = entries
          .filter((entry) => entry.moved)
          .map(({ svixId, stateAfter }) => ({ svixId, state: stateAfter }));
        expect(moved).toEqual(oracleMoves(canonical(specs)));
        // Between moves the state holds: each entry starts where the one before it ended.
        entries.forEach((entry, i) => {
          expect(entry.stateBefore).toBe(i === 0 ? "recorded" : entries[i - 1]?.stateAfter);
          if (!entry.moved) expect(entry.stateAfter).toBe(entry.stateBefore);
        });
      }),
      { numRuns: 300 },
    );
  });

  it("never moves the state backwards, and never out of a terminal state", () => {
    const rank = (state: DeliveryState) =>
      isTerminalState(state) ? DELIVERY_STATES.length : DELIVERY_STATES.indexOf(state);
    fc.assert(
      fc.property(scenarioArb, ({ arrival }) => {
        for (const entry of timeline(arrival)) {
          expect(rank(entry.stateAfter)).toBeGreaterThanOrEqual(rank(entry.stateBefore));
          if (isTerminalState(entry.stateBefore)) expect(entry.stateAfter).toBe(entry.stateBefore);
          if (entry.kind === "engagement" || entry.kind === "other") expect(entry.moved).toBe(false);
        }
      }),
      { numRuns: 200 },
    );
  });
});
