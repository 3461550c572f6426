import { makeEvent, parseResendEvent, RESEND_EVENT_TYPES, type ResendEventType } from "@mailstate/resend-events";
import { describe, expect, it } from "vitest";
import { classifyEvent, type EventClass, movesDeliveryState } from "./classify.ts";
import { DELIVERY_EVENT_TYPES } from "./machine.ts";

const EXPECTED: Record<ResendEventType, EventClass> = {
  "email.scheduled": "delivery",
  "email.sent": "delivery",
  "email.delivered": "delivery",
  "email.delivery_delayed": "delivery",
  "email.failed": "delivery",
  "email.suppressed": "delivery",
  "email.bounced": "suppression_source",
  "email.complained": "suppression_source",
  "email.opened": "engagement",
  "email.clicked": "engagement",
  "email.received": "other",
  "contact.created": "other",
  "contact.updated": "other",
  "contact.deleted": "other",
  "domain.created": "other",
  "domain.updated": "other",
  "domain.deleted": "other",
  "suppression.added": "other",
  "suppression.removed": "other",
};

describe("classifyEvent", () => {
  it.each(RESEND_EVENT_TYPES)("classifies %s", (type) => {
    expect(classifyEvent(makeEvent(type))).toBe(EXPECTED[type]);
  });

  it.each(["email.future_thing", "toString", "__proto__", "constructor"])(
    "classifies unknown type %j as other",
    (type) => {
      const event = parseResendEvent({ type, created_at: "2026-11-22T10:00:00Z", data: {} });
      expect(classifyEvent(event)).toBe("other");
      expect(movesDeliveryState(event)).toBe(false);
    },
  );

  it("says bounced and complained move delivery state as well as feeding suppressions", () => {
    expect(movesDeliveryState(makeEvent("email.bounced"))).toBe(true);
    expect(movesDeliveryState(makeEvent("email.complained"))).toBe(true);
  });

  it("marks as moving delivery state exactly the types the machine handles", () => {
    const moving = RESEND_EVENT_TYPES.filter((type) => movesDeliveryState(makeEvent(type)));
    // And email.canceled, the machine's name for an email.failed whose reason is canceled.
    expect([...moving, "email.canceled"].sort()).toEqual([...DELIVERY_EVENT_TYPES].sort());
  });
});
