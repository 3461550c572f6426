// webhooks.verify against real Standard Webhooks signatures made by svix, as mailstate's worker signs.
import { Webhook } from "svix";
import { describe, expect, it } from "vitest";
import { createMailstate, createNoopMailstate } from "./client.ts";
import { MailstateError } from "./errors.ts";
import { webhooks } from "./webhooks.ts";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const OTHER = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const body = JSON.stringify({
  type: "notification.state_changed",
  timestamp: "2026-12-01T10:00:00.000Z",
  data: {
    notificationId: "0b9f0c7e-0000-4000-8000-000000000001",
    tenant: "acme",
    category: "welcome",
    resendEmailId: "re_1",
    from: "delivered",
    to: "bounced",
    at: "2026-12-01T09:59:59.000Z",
    event: { type: "email.bounced", svixId: "msg_abc" },
  },
});

function signed(secrets: string[], at = new Date(), id = "msg_0123456789abcdef0123456789abcdef") {
  return {
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1_000)),
    "webhook-signature": secrets.map((secret) => new Webhook(secret).sign(id, at, body)).join(" "),
  };
}

function thrown(fn: () => unknown): MailstateError {
  try {
    fn();
  } catch (error) {
    if (error instanceof MailstateError) return error;
    throw error;
  }
  throw new Error("did not throw");
}

describe("webhooks.verify", () => {
  it("a message signed with the secret → the parsed message", () => {
    const message = webhooks.verify(body, signed([SECRET]), SECRET);
    expect(message.type).toBe("notification.state_changed");
    if (message.type !== "notification.state_changed") throw new Error("narrowing");
    expect(message.data).toMatchObject({ from: "delivered", to: "bounced", tenant: "acme" });
  });

  it("headers as a fetch Headers, node's record with any case, and the body as bytes", () => {
    const headers = signed([SECRET]);
    expect(webhooks.verify(new TextEncoder().encode(body), new Headers(headers), SECRET).type).toBe(
      "notification.state_changed",
    );
    const upper = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toUpperCase(), v]));
    expect(webhooks.verify(body, upper, SECRET).type).toBe("notification.state_changed");
  });

  it("during a rotation (two signatures): either secret verifies", () => {
    const headers = signed([SECRET, OTHER]);
    expect(webhooks.verify(body, headers, SECRET).type).toBe("notification.state_changed");
    expect(webhooks.verify(body, headers, OTHER).type).toBe("notification.state_changed");
  });

  it("another secret, a tampered body, a stale timestamp → webhook_signature_invalid", () => {
    expect(thrown(() => webhooks.verify(body, signed([SECRET]), OTHER)).code).toBe("webhook_signature_invalid");
    const tampered = body.replace("bounced", "delivered");
    expect(thrown(() => webhooks.verify(tampered, signed([SECRET]), SECRET)).code).toBe("webhook_signature_invalid");
    const stale = signed([SECRET], new Date(Date.now() - 10 * 60_000));
    const error = thrown(() => webhooks.verify(body, stale, SECRET));
    expect(error.code).toBe("webhook_signature_invalid");
    expect(error.message).toMatch(/^the message does not verify: /);
  });

  it("a header missing → webhook_headers_invalid, naming it", () => {
    const { "webhook-signature": _gone, ...rest } = signed([SECRET]);
    const error = thrown(() => webhooks.verify(body, rest, SECRET));
    expect(error.code).toBe("webhook_headers_invalid");
    expect(error.message).toBe("the webhook-signature header is missing");
  });

  it("is there on the client and on the no-op client alike (it needs no API)", () => {
    const headers = signed([SECRET]);
    expect(createNoopMailstate().webhooks.verify(body, headers, SECRET).type).toBe("notification.state_changed");
    const client = createMailstate({ baseUrl: "http://127.0.0.1:1", apiKey: "k".repeat(20) });
    expect(client.webhooks.verify(body, headers, SECRET).type).toBe("notification.state_changed");
  });
});
