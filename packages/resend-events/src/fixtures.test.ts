import { describe, expect, it } from "vitest";
import { isEmailEvent } from "./accessors.ts";
import { fixtures, makeEvent } from "./fixtures.ts";

describe("makeEvent", () => {
  it("returns the parsed fixture when given no overrides", () => {
    const event = makeEvent("email.delivered");
    expect(event.type).toBe("email.delivered");
    expect(event.created_at).toBe(fixtures["email.delivered"].created_at);
    expect(event.data.tags).toEqual({ category: "password_reset" });
  });

  it("merges nested overrides and keeps the fields it was not given", () => {
    const event = makeEvent("email.bounced", {
      created_at: "2026-11-22T10:00:05.000001+00:00",
      data: { email_id: "em_2", bounce: { type: "Transient" } },
    });
    expect(event.created_at).toBe("2026-11-22T10:00:05.000001+00:00");
    expect(event.data.email_id).toBe("em_2");
    expect(event.data.bounce.type).toBe("Transient");
    expect(event.data.bounce.subType).toBe("General");
    expect(event.data.to).toEqual(["bounced@resend.dev"]);
  });

  it("replaces arrays rather than merging them", () => {
    const event = makeEvent("email.sent", { data: { to: ["a@example.com", "b@example.com"] } });
    expect(event.data.to).toEqual(["a@example.com", "b@example.com"]);
  });

  it("leaves the shared fixtures untouched", () => {
    const before = structuredClone(fixtures["email.bounced"]);
    const event = makeEvent("email.bounced", { data: { bounce: { type: "Undetermined" } } });
    event.data.to.push("mutated@example.com");
    expect(fixtures["email.bounced"]).toEqual(before);
    expect(Object.isFrozen(fixtures["email.bounced"].data)).toBe(true);
  });

  it("validates what it builds", () => {
    expect(() => makeEvent("email.sent", { created_at: "not a time" })).toThrow(/Invalid ISO 8601 timestamp/);
  });

  it("builds events the email accessors recognize", () => {
    expect(isEmailEvent(makeEvent("email.opened"))).toBe(true);
  });

  it("takes common overrides from callers generic over the type", () => {
    const build = <T extends "email.sent" | "email.delivered">(type: T, emailId: string) =>
      makeEvent(type, { created_at: "2026-11-22T10:00:00Z", data: { email_id: emailId, to: ["x@example.com"] } });
    const event = build("email.delivered", "em_9");
    expect([event.type, event.data.email_id, event.data.to]).toEqual(["email.delivered", "em_9", ["x@example.com"]]);
  });
});
