// The last_event mapping, as the table in docs/reconciling.md states it: every value the `resend` package
// declares, against every state a notification can be in.

import { LAST_EVENTS, eventSourceOf as sourceOf } from "@mailstate/resend-events";
import { DELIVERY_STATES, isTerminalState } from "@mailstate/state-machine";
import { describe, expect, it } from "vitest";
import { LAST_EVENT_MAPPING, observedEvent, observedSvixId } from "./last-event.ts";

const email = (lastEvent: string) => ({
  id: "4ef9a417-02e9-4d39-ad75-9611e0fcc33c",
  from: "Acme <hello@acme.test>",
  to: ["ada@example.com"],
  subject: "Hi",
  created_at: "2026-11-22T10:00:00.000Z",
  last_event: lastEvent,
});
const at = new Date("2026-11-23T10:00:00.000Z");

describe("last_event → the event the sweeper appends", () => {
  it("maps every value the resend package declares, as the table in docs/reconciling.md says", () => {
    expect(Object.keys(LAST_EVENT_MAPPING).sort()).toEqual([...LAST_EVENTS].sort());
    expect(LAST_EVENT_MAPPING).toEqual({
      queued: null,
      scheduled: "email.scheduled",
      sent: "email.sent",
      delivered: "email.delivered",
      delivery_delayed: "email.delivery_delayed",
      opened: "email.delivered",
      clicked: "email.delivered",
      bounced: "email.bounced",
      complained: "email.complained",
      failed: "email.failed",
      suppressed: "email.suppressed",
      canceled: "email.failed",
    });
  });

  it("a notification in sent, Resend says delivered → email.delivered at the observation, deterministic id, marked api", () => {
    const observed = observedEvent(email("delivered"), "sent", at);
    expect(observed).toMatchObject({
      svixId: observedSvixId(email("delivered").id, "email.delivered"),
      type: "email.delivered",
      payload: { type: "email.delivered", created_at: at.toISOString(), mailstate: { source: "api" } },
    });
    expect(sourceOf(observed?.payload)).toBe("api");
    expect(sourceOf({ type: "email.delivered" })).toBe("webhook");
    // Asking again later: the same id, so the log keeps one.
    expect(observedEvent(email("delivered"), "sent", new Date())?.svixId).toBe(observed?.svixId);
  });

  it("bounced → an Undetermined bounce (no type from the API); canceled → failed with reason canceled, in scheduled and in recorded; not in failed", () => {
    expect(observedEvent(email("bounced"), "sent", at)?.payload.data).toMatchObject({
      bounce: { type: "Undetermined", subType: "Undetermined" },
    });
    expect(observedEvent(email("canceled"), "scheduled", at)?.payload.data).toMatchObject({
      failed: { reason: "canceled" },
    });
    expect(observedEvent(email("canceled"), "recorded", at)?.type).toBe("email.failed");
    expect(observedEvent(email("canceled"), "failed", at)).toBeNull();
  });

  it("behind or equal to the stored state, or a final state → nothing to append", () => {
    expect(observedEvent(email("sent"), "delivered", at)).toBeNull();
    expect(observedEvent(email("delivered"), "delivered", at)).toBeNull();
    expect(observedEvent(email("opened"), "delivered", at)).toBeNull();
    expect(observedEvent(email("queued"), "recorded", at)).toBeNull();
    expect(observedEvent(email("a_value_resend_adds_later"), "sent", at)).toBeNull();
    for (const state of DELIVERY_STATES.filter(isTerminalState))
      for (const lastEvent of LAST_EVENTS) expect(observedEvent(email(lastEvent), state, at)).toBeNull();
  });
});
