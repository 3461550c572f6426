import { describe, expect, it } from "vitest";
import { ZodError } from "zod";
import { isEmailEvent, isKnownEvent, isOtherEvent } from "./accessors.ts";
import { RESEND_EVENT_TYPES } from "./event-types.ts";
import { fixtures, makeEvent, unknownTypeFixture } from "./fixtures.ts";
import { parseResendEvent, safeParseResendEvent } from "./parse.ts";

function issuesOf(input: unknown) {
  const result = safeParseResendEvent(input);
  if (result.success) throw new Error(`expected ${JSON.stringify(input)} to be rejected`);
  expect(result.error).toBeInstanceOf(ZodError);
  return result.error.issues;
}

function withData(type: keyof typeof fixtures, patch: Record<string, unknown>) {
  const fixture = structuredClone(fixtures[type]) as { data: Record<string, unknown> };
  return { ...fixture, data: { ...fixture.data, ...patch } };
}

describe("parseResendEvent", () => {
  it("has a fixture for every known type, and nothing else", () => {
    expect(Object.keys(fixtures).sort()).toEqual([...RESEND_EVENT_TYPES].sort());
  });

  it.each(RESEND_EVENT_TYPES)("parses the %s fixture as a known event", (type) => {
    const event = parseResendEvent(fixtures[type]);
    expect(event.type).toBe(type);
    expect(isKnownEvent(event)).toBe(true);
    expect(event.created_at).toBe(fixtures[type].created_at);
    // Parsing is stable: the output is itself a valid payload that parses to itself.
    expect(parseResendEvent(JSON.parse(JSON.stringify(event)))).toEqual(event);
  });

  it("reads the bounce of email.bounced", () => {
    const event = parseResendEvent(fixtures["email.bounced"]);
    if (event.type !== "email.bounced" || !isKnownEvent(event)) throw new Error("unreachable");
    expect(event.data.bounce).toEqual({
      type: "Permanent",
      subType: "General",
      message: expect.stringContaining("hard bounce"),
      diagnosticCode: ["smtp; 550 5.1.1 user unknown"],
    });
  });

  it("normalizes tags given as a list of {name, value} to a record", () => {
    const event = parseResendEvent(fixtures["email.clicked"]);
    expect(isEmailEvent(event) && event.data.tags).toEqual({ category: "password_reset" });
  });

  it("keeps tags given as a record, stringifies scalar values, and reads absent or null tags as {}", () => {
    const record = parseResendEvent(withData("email.sent", { tags: { plan: "pro", seats: 3, trial: false } }));
    expect(isEmailEvent(record) && record.data.tags).toEqual({ plan: "pro", seats: "3", trial: "false" });
    const absent = parseResendEvent(withData("email.sent", { tags: undefined }));
    expect(isEmailEvent(absent) && absent.data.tags).toEqual({});
    const nulled = parseResendEvent(withData("email.sent", { tags: null }));
    expect(isEmailEvent(nulled) && nulled.data.tags).toEqual({});
  });

  it("passes fields it does not know through, at every level", () => {
    const input = {
      ...withData("email.bounced", { cc: ["x@example.com"] }),
      webhook_id: "wh_1",
    };
    (input.data.bounce as Record<string, unknown>).feedbackId = "fb-1";
    const event = parseResendEvent(input) as unknown as {
      webhook_id: string;
      data: { cc: string[]; bounce: { feedbackId: string } };
    };
    expect(event.webhook_id).toBe("wh_1");
    expect(event.data.cc).toEqual(["x@example.com"]);
    expect(event.data.bounce.feedbackId).toBe("fb-1");
  });

  it("forgives the letter case of bounce.type and a lone diagnostic string", () => {
    const event = makeEvent("email.bounced", { data: { bounce: { type: "transient", diagnosticCode: "smtp; 452" } } });
    expect(event.data.bounce.type).toBe("Transient");
    expect(event.data.bounce.diagnosticCode).toEqual(["smtp; 452"]);
  });

  it("reads a lone `to` address as a list of one, and null optional ids as absent", () => {
    const event = parseResendEvent(withData("email.sent", { to: "solo@example.com", broadcast_id: null }));
    if (!isEmailEvent(event)) throw new Error("unreachable");
    expect(event.data.to).toEqual(["solo@example.com"]);
    expect(event.data.broadcast_id).toBeUndefined();
  });

  it("parses an unknown type as an other event, keeping its type and raw data", () => {
    const event = parseResendEvent(unknownTypeFixture);
    expect(isOtherEvent(event)).toBe(true);
    expect(isKnownEvent(event)).toBe(false);
    expect(event.type).toBe("inbox.thread.created");
    expect(event.data).toEqual({ source: "api", inbox_id: "inb_123", thread_id: "thr_456" });
  });

  it("parses an unknown type whatever its data looks like", () => {
    for (const data of [null, "text", 42, [1, 2], { nested: { deep: true } }]) {
      const event = parseResendEvent({ type: "email.future_thing", created_at: "2026-11-22T10:00:00Z", data });
      expect(isOtherEvent(event) && event.data).toEqual(data);
    }
  });
});

describe("parseResendEvent rejections", () => {
  it("names the field when a type is wrong (data.email_id a number)", () => {
    const issues = issuesOf(withData("email.delivered", { email_id: 123 }));
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toEqual(["data", "email_id"]);
    expect(issues[0]?.code).toBe("invalid_type");
    expect(issues[0]?.message).toMatch(/expected string, received number/);
  });

  it("names the nested field when bounce.type is not a bounce type", () => {
    const input = withData("email.bounced", {});
    (input.data.bounce as Record<string, unknown>).type = "Soft";
    const issues = issuesOf(input);
    expect(issues.map((issue) => issue.path)).toEqual([["data", "bounce", "type"]]);
    expect(issues[0]?.message).toMatch(/Permanent.*Transient.*Undetermined/);
  });

  it("throws a ZodError from parseResendEvent", () => {
    const input = withData("email.clicked", {});
    (input.data.click as Record<string, unknown>).link = 7;
    let caught: unknown;
    try {
      parseResendEvent(input);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ZodError);
    expect((caught as ZodError).issues[0]?.path).toEqual(["data", "click", "link"]);
  });

  it.each([
    ["email.bounced", { bounce: undefined }, ["data", "bounce"]],
    ["email.clicked", { click: { link: "https://x", timestamp: "soon" } }, ["data", "click", "timestamp"]],
    ["email.failed", { failed: {} }, ["data", "failed", "reason"]],
    ["email.suppressed", { suppressed: { message: "m" } }, ["data", "suppressed", "type"]],
    ["email.sent", { to: [1] }, ["data", "to"]],
    ["email.sent", { email_id: "" }, ["data", "email_id"]],
    ["email.opened", { tags: "a=b" }, ["data", "tags"]],
  ] as const)("rejects %s with %j at its path", (type, patch, path) => {
    const issues = issuesOf(withData(type, patch));
    expect(issues.map((issue) => issue.path)).toContainEqual(path);
  });

  it("rejects a bad top-level created_at, known type or not", () => {
    for (const type of ["email.sent", "inbox.thread.created"]) {
      const issues = issuesOf({ type, created_at: "last tuesday", data: {} });
      expect(issues.map((issue) => issue.path)).toContainEqual(["created_at"]);
      expect(issues.find((issue) => issue.path[0] === "created_at")?.message).toBe("Invalid ISO 8601 timestamp");
    }
  });

  it.each([null, "email.sent", [], {}, { type: 5, created_at: "2026-11-22T10:00:00Z", data: {} }])(
    "rejects %j, which is not a webhook envelope",
    (input) => {
      expect(issuesOf(input).length).toBeGreaterThan(0);
    },
  );

  it("rejects a known type without data", () => {
    const issues = issuesOf({ type: "email.sent", created_at: "2026-11-22T10:00:00Z" });
    expect(issues.map((issue) => issue.path)).toEqual([["data"]]);
  });
});
