import { Webhook } from "svix";
import { describe, expect, it } from "vitest";
import { createWebhookVerifier, verifyWebhook } from "./verify.ts";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const OLD_SECRET = "whsec_b2xkLXNlY3JldC1mb3Itcm90YXRpb24=";
const NOW = new Date("2026-11-22T10:00:00.000Z");
const ID = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";
const BODY = Buffer.from(
  JSON.stringify({ type: "email.delivered", created_at: "2026-11-22T10:00:00.123Z", data: { email_id: "e1" } }),
);

function signed(body: Buffer, { secret = SECRET, at = NOW, id = ID } = {}) {
  const signature = new Webhook(secret).sign(id, at, body.toString());
  return { "svix-id": id, "svix-timestamp": String(Math.floor(at.getTime() / 1_000)), "svix-signature": signature };
}

const minutes = (n: number) => new Date(NOW.getTime() + n * 60_000);

describe("verifyWebhook", () => {
  it("input: body signed with the secret at now → ok with the svix-id and timestamp", () => {
    expect(verifyWebhook(BODY, signed(BODY), [SECRET], NOW)).toEqual({ ok: true, svixId: ID, timestamp: NOW });
  });

  it("input: signed with either secret while both are configured (rotation) → ok", () => {
    expect(verifyWebhook(BODY, signed(BODY, { secret: OLD_SECRET }), [SECRET, OLD_SECRET], NOW).ok).toBe(true);
    expect(verifyWebhook(BODY, signed(BODY), [OLD_SECRET, SECRET], NOW).ok).toBe(true);
  });

  it("input: svix-signature holding several signatures, one matching → ok", () => {
    const headers = signed(BODY);
    headers["svix-signature"] = `v1,${"A".repeat(44)} v2,whatever ${headers["svix-signature"]}`;
    expect(verifyWebhook(BODY, headers, [SECRET], NOW).ok).toBe(true);
  });

  it("input: webhook-id / webhook-timestamp / webhook-signature aliases → ok", () => {
    const h = signed(BODY);
    const aliased = {
      "webhook-id": h["svix-id"],
      "webhook-timestamp": h["svix-timestamp"],
      "webhook-signature": h["svix-signature"],
    };
    expect(verifyWebhook(BODY, aliased, [SECRET], NOW).ok).toBe(true);
  });

  it("input: one byte of the body changed → signature_invalid", () => {
    const changed = Buffer.from(BODY);
    changed[10] = (changed[10] ?? 0) ^ 1;
    expect(verifyWebhook(changed, signed(BODY), [SECRET], NOW)).toEqual({
      ok: false,
      reason: "signature_invalid",
      svixId: ID,
    });
  });

  it("input: signed with another secret → signature_invalid", () => {
    expect(verifyWebhook(BODY, signed(BODY, { secret: OLD_SECRET }), [SECRET], NOW)).toMatchObject({
      ok: false,
      reason: "signature_invalid",
    });
  });

  it("input: svix-id changed after signing → signature_invalid", () => {
    const headers = { ...signed(BODY), "svix-id": "msg_other" };
    expect(verifyWebhook(BODY, headers, [SECRET], NOW)).toMatchObject({ reason: "signature_invalid" });
  });

  it("input: timestamp 5 minutes old and 5 minutes ahead (the edges) → ok", () => {
    expect(verifyWebhook(BODY, signed(BODY, { at: minutes(-5) }), [SECRET], NOW).ok).toBe(true);
    expect(verifyWebhook(BODY, signed(BODY, { at: minutes(5) }), [SECRET], NOW).ok).toBe(true);
  });

  it("input: timestamp 6 minutes old / 6 minutes ahead, validly signed → timestamp_out_of_tolerance", () => {
    for (const at of [minutes(-6), minutes(6)]) {
      expect(verifyWebhook(BODY, signed(BODY, { at }), [SECRET], NOW)).toEqual({
        ok: false,
        reason: "timestamp_out_of_tolerance",
        svixId: ID,
      });
    }
  });

  it("input: the same signature checked with a clock 6 minutes later → timestamp_out_of_tolerance", () => {
    expect(verifyWebhook(BODY, signed(BODY), [SECRET], minutes(6))).toMatchObject({
      reason: "timestamp_out_of_tolerance",
    });
  });

  it.each(["svix-id", "svix-timestamp", "svix-signature"] as const)("input: %s missing → headers_missing", (name) => {
    const headers: Record<string, string> = signed(BODY);
    delete headers[name];
    expect(verifyWebhook(BODY, headers, [SECRET], NOW)).toMatchObject({ ok: false, reason: "headers_missing" });
  });

  it.each(["abc", "1700000000abc", "-1", "1.5e9", ""])(
    "input: svix-timestamp %j → rejected before any HMAC",
    (value) => {
      const headers = { ...signed(BODY), "svix-timestamp": value };
      const reason = value === "" ? "headers_missing" : "timestamp_invalid";
      expect(verifyWebhook(BODY, headers, [SECRET], NOW)).toMatchObject({ ok: false, reason });
    },
  );

  it("input: svix-signature without any v1 entry → signature_invalid", () => {
    const headers = { ...signed(BODY), "svix-signature": "v2,abc" };
    expect(verifyWebhook(BODY, headers, [SECRET], NOW)).toMatchObject({ reason: "signature_invalid" });
  });

  it("input: a body that is not valid UTF-8, signed by svix (over the text it decodes) → ok, as svix's own verify says", () => {
    const latin1 = Buffer.from('{"type":"email.sent","subject":"caf\xe9"}', "latin1");
    const now = new Date(); // svix's verify reads the real clock
    const headers = signed(latin1, { at: now });
    expect(() => new Webhook(SECRET).verify(latin1, headers)).not.toThrow();
    expect(verifyWebhook(latin1, headers, [SECRET], now).ok).toBe(true);
  });

  it("input: 200 bodies of every size and many characters, signed by svix → ok each; one byte flipped → signature_invalid each", () => {
    for (let i = 0; i < 200; i += 1) {
      const body = Buffer.from(
        JSON.stringify({ type: "email.opened", i, text: 'é☃𝄞 \u0000"'.repeat(i % 17), pad: "x".repeat(i * 37) }),
      );
      expect(verifyWebhook(body, signed(body, { id: `msg_${i}` }), [SECRET], NOW).ok).toBe(true);
      const flipped = Buffer.from(body);
      flipped[i % flipped.length] = (flipped[i % flipped.length] ?? 0) ^ 1;
      expect(verifyWebhook(flipped, signed(body, { id: `msg_${i}` }), [SECRET], NOW).ok).toBe(false);
    }
  });

  it("input: the secret without its whsec_ prefix (as svix also accepts it) → ok", () => {
    expect(verifyWebhook(BODY, signed(BODY), [SECRET.slice("whsec_".length)], NOW).ok).toBe(true);
  });

  it("input: a secret svix refuses (not base64) → throws at construction", () => {
    expect(() => createWebhookVerifier(["whsec_!!!not-base64!!!"])).toThrow();
  });

  it("input: empty secret list → throws at construction", () => {
    expect(() => createWebhookVerifier([])).toThrow(/at least one/);
  });
});
