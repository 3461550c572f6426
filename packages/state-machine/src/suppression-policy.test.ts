import { makeEvent, parseResendEvent, RESEND_EVENT_TYPES } from "@mailstate/resend-events";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_SOFT_BOUNCE_THRESHOLD,
  normalizeEmail,
  planSuppressions,
  reachesSoftBounceThreshold,
  type SuppressionReason,
} from "./suppression-policy.ts";

const RECIPIENTS = ["  Alice@Example.COM ", "bob@example.com", "ALICE@example.com", "Carol <Carol@Example.com>"];
const NORMALIZED = ["alice@example.com", "bob@example.com", "carol@example.com"];

function bounce(type: "Permanent" | "Transient" | "Undetermined", to = RECIPIENTS) {
  return makeEvent("email.bounced", { data: { to, bounce: { type } } });
}

describe("normalizeEmail", () => {
  it.each([
    ["Alice@Example.COM", "alice@example.com"],
    ["  bob@example.com\t\n", "bob@example.com"],
    ["Carol <Carol@Example.com>", "carol@example.com"],
    ['"Doe, Jane" < JANE@example.com >', "jane@example.com"],
    ["plain@example.com", "plain@example.com"],
  ])("normalizes %j to %j", (input, expected) => {
    expect(normalizeEmail(input)).toBe(expected);
    expect(normalizeEmail(normalizeEmail(input))).toBe(expected);
  });
});

describe("planSuppressions", () => {
  it("suppresses every recipient of a Permanent bounce as hard_bounce, normalized, once each", () => {
    expect(planSuppressions(bounce("Permanent"))).toEqual({
      suppress: NORMALIZED.map((email) => ({ email, reason: "hard_bounce" })),
      countSoftBounce: [],
      resetSoftBounce: [],
    });
  });

  it("counts a soft bounce for every recipient of a Transient bounce, suppressing nobody yet", () => {
    expect(planSuppressions(bounce("Transient"))).toEqual({
      suppress: [],
      countSoftBounce: NORMALIZED,
      resetSoftBounce: [],
    });
  });

  it("does nothing for an Undetermined bounce (log only)", () => {
    expect(planSuppressions(bounce("Undetermined"))).toEqual({
      suppress: [],
      countSoftBounce: [],
      resetSoftBounce: [],
    });
  });

  it("always suppresses the recipients of a complaint", () => {
    const event = makeEvent("email.complained", { data: { to: RECIPIENTS } });
    expect(planSuppressions(event).suppress).toEqual(NORMALIZED.map((email) => ({ email, reason: "complaint" })));
  });

  it("resets the soft-bounce counters of the recipients of a delivery", () => {
    const event = makeEvent("email.delivered", { data: { to: RECIPIENTS } });
    expect(planSuppressions(event)).toEqual({ suppress: [], countSoftBounce: [], resetSoftBounce: NORMALIZED });
  });

  it.each(RESEND_EVENT_TYPES.filter((t) => !["email.bounced", "email.complained", "email.delivered"].includes(t)))(
    "plans nothing for %s",
    (type) => {
      expect(planSuppressions(makeEvent(type))).toEqual({ suppress: [], countSoftBounce: [], resetSoftBounce: [] });
    },
  );

  it("plans nothing for an unknown type, even with a to list", () => {
    const event = parseResendEvent({
      type: "email.bounced_v2",
      created_at: "2026-11-22T10:00:00Z",
      data: { to: ["a@example.com"], bounce: { type: "Permanent" } },
    });
    expect(planSuppressions(event)).toEqual({ suppress: [], countSoftBounce: [], resetSoftBounce: [] });
  });

  it("rejects a threshold that is not a positive integer", () => {
    for (const softBounceThreshold of [0, -1, 2.5, Number.NaN]) {
      expect(() => planSuppressions(bounce("Transient"), { softBounceThreshold })).toThrow(RangeError);
      expect(() => reachesSoftBounceThreshold(1, { softBounceThreshold })).toThrow(RangeError);
    }
  });
});

describe("reachesSoftBounceThreshold", () => {
  it("defaults to 3", () => {
    expect(DEFAULT_SOFT_BOUNCE_THRESHOLD).toBe(3);
    expect([1, 2, 3, 4].map((count) => reachesSoftBounceThreshold(count))).toEqual([false, false, true, true]);
  });

  it("follows a configured threshold", () => {
    expect(reachesSoftBounceThreshold(1, { softBounceThreshold: 1 })).toBe(true);
    expect(reachesSoftBounceThreshold(4, { softBounceThreshold: 5 })).toBe(false);
    expect(reachesSoftBounceThreshold(5, { softBounceThreshold: 5 })).toBe(true);
  });

  it("suppresses after three soft bounces in a row, and a delivery in between starts the count again", () => {
    // What the worker does with the plans: a counter per address.
    const counters = new Map<string, number>();
    const suppressed = new Map<string, SuppressionReason>();
    const apply = (event: Parameters<typeof planSuppressions>[0]) => {
      const plan = planSuppressions(event);
      for (const { email, reason } of plan.suppress) if (!suppressed.has(email)) suppressed.set(email, reason);
      for (const email of plan.resetSoftBounce) counters.set(email, 0);
      for (const email of plan.countSoftBounce) {
        const count = (counters.get(email) ?? 0) + 1;
        counters.set(email, count);
        if (reachesSoftBounceThreshold(count) && !suppressed.has(email)) suppressed.set(email, "soft_bounce_threshold");
      }
    };
    const to = ["Soft@Example.com"];
    apply(bounce("Transient", to));
    apply(bounce("Transient", to));
    apply(makeEvent("email.delivered", { data: { to } }));
    apply(bounce("Transient", to));
    apply(bounce("Transient", to));
    expect(suppressed.size).toBe(0);
    apply(bounce("Transient", to));
    expect(suppressed.get("soft@example.com")).toBe("soft_bounce_threshold");
  });
});
