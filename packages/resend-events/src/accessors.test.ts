import { describe, expect, it } from "vitest";
import { emailIdOf, isEmailEvent, recipientsOf } from "./accessors.ts";
import { EMAIL_EVENT_TYPES, RESEND_EVENT_TYPES } from "./event-types.ts";
import { FIXTURE_EMAIL_ID, fixtures, unknownTypeFixture } from "./fixtures.ts";
import { parseResendEvent } from "./parse.ts";

describe("emailIdOf", () => {
  it.each(EMAIL_EVENT_TYPES)("is data.email_id for %s", (type) => {
    expect(emailIdOf(parseResendEvent(fixtures[type]))).toBe(FIXTURE_EMAIL_ID);
  });

  it.each(RESEND_EVENT_TYPES.filter((type) => !type.startsWith("email.") || type === "email.received"))(
    "is null for %s, which is not about a sent email",
    (type) => {
      expect(emailIdOf(parseResendEvent(fixtures[type]))).toBeNull();
    },
  );

  it("reads data.email_id of an unknown type, when it has a string one", () => {
    const later = { type: "email.unsubscribed", created_at: "2026-11-22T10:00:00Z", data: { email_id: "em_1" } };
    expect(emailIdOf(parseResendEvent(later))).toBe("em_1");
    expect(emailIdOf(parseResendEvent(unknownTypeFixture))).toBeNull();
    const numeric = { ...later, data: { email_id: 12 } };
    expect(emailIdOf(parseResendEvent(numeric))).toBeNull();
    expect(emailIdOf(parseResendEvent({ ...later, data: null }))).toBeNull();
  });
});

describe("recipientsOf", () => {
  it("is the to list of email events, as written", () => {
    const event = parseResendEvent({
      ...fixtures["email.delivered"],
      data: { ...fixtures["email.delivered"].data, to: ["A@Example.com", "b@example.com"] },
    });
    expect(recipientsOf(event)).toEqual(["A@Example.com", "b@example.com"]);
  });

  it("is the to list of a received email too", () => {
    expect(recipientsOf(parseResendEvent(fixtures["email.received"]))).toEqual(["support@acme.dev"]);
  });

  it.each(["contact.created", "domain.updated", "suppression.added"] as const)("is empty for %s", (type) => {
    expect(recipientsOf(parseResendEvent(fixtures[type]))).toEqual([]);
  });

  it("is empty for an unknown type", () => {
    expect(recipientsOf(parseResendEvent(unknownTypeFixture))).toEqual([]);
  });

  it("returns a copy the caller may change", () => {
    const event = parseResendEvent(fixtures["email.sent"]);
    recipientsOf(event).push("intruder@example.com");
    expect(isEmailEvent(event) && event.data.to).toEqual(["delivered@resend.dev"]);
  });
});
