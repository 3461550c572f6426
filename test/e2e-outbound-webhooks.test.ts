// Outbound webhooks end to end: endpoints registered over /v1 with tenants' keys, Resend's webhooks
// posted signed to the real API, the real worker reconciling them and writing the outbox, the relay
// and the BullMQ webhooks queue delivering to local receivers that verify every message with svix.
// Retries, failing endpoints and crashes: e2e-outbound-failures.test.ts; private targets:
// e2e-outbound-private.test.ts.
import { randomUUID } from "node:crypto";
import type { MailstateStack } from "@mailstate/api/testing";
import { createMailstate } from "@mailstate/sdk";
import { type HttpReceiver, type ReceivedRequest, resendEvent, waitUntil } from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ALL_EVENTS,
  bounce,
  type Caller,
  type OutboundTenants,
  startOutboundTenants,
  startReceiver,
  stateChanges,
  verify,
  waitForChanges,
  waitForOutboxSettled,
  webhookId,
} from "./outbound-fixtures.ts";

describe("outbound webhooks: tenants' endpoints, svix-signed delivery, rotation", () => {
  let stack: MailstateStack;
  let acme: HttpReceiver;
  let globex: HttpReceiver;
  let asAcme: Caller;
  let asGlobex: Caller;
  let acmeEndpoint: OutboundTenants["acmeEndpoint"];
  let globexEndpoint: OutboundTenants["globexEndpoint"];
  let recordSend: OutboundTenants["recordSend"];
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ stack, acme, globex, asAcme, asGlobex, acmeEndpoint, globexEndpoint, recordSend, close } =
      await startOutboundTenants("e2e_outbound"));
  });
  afterAll(() => close?.());

  it("create answers {id, url, events, secret} with a whsec_ secret shown once: the list never shows it", async () => {
    expect(Object.keys(acmeEndpoint).sort()).toEqual(["events", "id", "secret", "url"]);
    expect(acmeEndpoint).toMatchObject({ url: acme.url, events: ALL_EVENTS });
    expect(acmeEndpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/=]{40,}$/);
    const listed = await asAcme("GET", "/v1/webhook-endpoints");
    expect(listed.status).toBe(200);
    expect(listed.body.data).toEqual([
      expect.objectContaining({ id: acmeEndpoint.id, url: acme.url, tenant: "acme", description: "acme's app" }),
    ]);
    expect(JSON.stringify(listed.body)).not.toContain(acmeEndpoint.secret);
  });

  it("bad input: an unknown event type, a non-http URL, no events → 400 naming the field", async () => {
    const unknown = await asAcme("POST", "/v1/webhook-endpoints", { url: acme.url, events: ["email.opened"] });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors[0].path).toBe("events.0");
    const ftp = await asAcme("POST", "/v1/webhook-endpoints", { url: "ftp://example.com/x", events: ALL_EVENTS });
    expect(ftp.status).toBe(400);
    expect(ftp.body.detail).toContain("url: must be an http:// or https:// URL");
    const none = await asAcme("POST", "/v1/webhook-endpoints", { url: acme.url, events: [] });
    expect(none.status).toBe(400);
    expect(none.body.errors[0].path).toBe("events");
  });

  it("sent, delivered, bounced → exactly one verified state_changed per real change; redelivered and late events send nothing", async () => {
    const to = `${randomUUID()}@acme.test`;
    const { id, resendEmailId } = await recordSend(to);
    const sent = await stack.postWebhook(resendEvent("email.sent", resendEmailId, 1, to));
    await waitForChanges(acme, id, 1);
    const delivered = await stack.postWebhook(resendEvent("email.delivered", resendEmailId, 2, to));
    await waitForChanges(acme, id, 2);
    // Redelivered (same svix-id), and late (an earlier `sent`): the folded state stays delivered.
    await stack.postWebhook(resendEvent("email.delivered", resendEmailId, 2, to), delivered);
    await stack.postWebhook(resendEvent("email.sent", resendEmailId, 0, to));
    const bounced = await stack.postWebhook(resendEvent("email.bounced", resendEmailId, 3, to, bounce));
    await waitForChanges(acme, id, 3);
    // After the bounce: a late delivered and the bounce again. Neither may read as a regression.
    await stack.postWebhook(resendEvent("email.delivered", resendEmailId, 2, to));
    await stack.postWebhook(resendEvent("email.bounced", resendEmailId, 3, to, bounce), bounced);
    await stack.drained();
    // Every change is reconciled and its messages are in the outbox: once none is pending, the
    // receivers have all they will ever get.
    await waitForOutboxSettled(stack, [acmeEndpoint.id, globexEndpoint.id]);

    const changes = stateChanges(acme, id);
    for (const request of changes) verify(acmeEndpoint.secret, request);
    expect(changes.map((r) => [r.json.data.from, r.json.data.to])).toEqual([
      ["recorded", "sent"],
      ["sent", "delivered"],
      ["delivered", "bounced"],
    ]);
    expect(new Set(changes.map(webhookId)).size).toBe(3);
    expect(changes[0]?.json).toEqual({
      type: "notification.state_changed",
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      data: {
        notificationId: id,
        tenant: "acme",
        category: "welcome",
        resendEmailId,
        from: "recorded",
        to: "sent",
        at: "2026-11-22T10:00:01.000Z",
        event: { type: "email.sent", svixId: sent },
      },
    });
    expect(changes[2]?.json.data.event).toEqual({ type: "email.bounced", svixId: bounced });
    // The SDK's verify, as an application receives them: node's request headers and the raw body.
    const mailstate = createMailstate({ baseUrl: stack.baseUrl, apiKey: stack.apiKey });
    for (const request of changes)
      expect(mailstate.webhooks.verify(request.body, request.headers, acmeEndpoint.secret)).toEqual(request.json);
    // The hard bounce suppressed the address on acme's list: one suppression.created.
    const created = acme.accepted().filter((r) => r.json.type === "suppression.created");
    expect(created.map((r) => r.json.data)).toEqual([
      { email: to, reason: "hard_bounce", tenant: "acme", at: expect.any(String) },
    ]);
    verify(acmeEndpoint.secret, created[0] as ReceivedRequest);
    // Another tenant's endpoint never hears of acme's notifications or list.
    expect(globex.requests).toEqual([]);
  });

  it("suppression.created and suppression.removed by hand over /v1, on the tenant's list only", async () => {
    const email = `${randomUUID()}@acme.test`;
    expect((await asAcme("POST", "/v1/suppressions", { email })).status).toBe(201);
    expect((await asAcme("DELETE", `/v1/suppressions/${encodeURIComponent(email)}`)).status).toBe(204);
    const seen = await waitUntil(
      "suppression.created then suppression.removed",
      () => {
        const messages = acme.accepted().filter((r) => r.json.data.email === email);
        return messages.length >= 2 ? messages : undefined;
      },
      10_000,
    );
    expect(seen.map((r) => [r.json.type, r.json.data.reason, r.json.data.tenant])).toEqual([
      ["suppression.created", "manual", "acme"],
      ["suppression.removed", "manual", "acme"],
    ]);
    expect(globex.requests).toEqual([]);
  });

  it("another tenant's key: acme's endpoint is not listed, and DELETE and rotate-secret answer 404", async () => {
    const listed = await asGlobex("GET", "/v1/webhook-endpoints");
    expect(listed.body.data.map((row: { id: string }) => row.id)).toEqual([globexEndpoint.id]);
    const removed = await asGlobex("DELETE", `/v1/webhook-endpoints/${acmeEndpoint.id}`);
    expect(removed.status).toBe(404);
    expect(removed.contentType).toContain("application/problem+json");
    expect(removed.body.detail).toBe(`no webhook endpoint ${acmeEndpoint.id}`);
    const rotated = await asGlobex("POST", `/v1/webhook-endpoints/${acmeEndpoint.id}/rotate-secret`);
    expect(rotated.status).toBe(404);
    // The same answer as for an id nobody has.
    expect((await asGlobex("DELETE", `/v1/webhook-endpoints/${randomUUID()}`)).status).toBe(404);
    // And acme's endpoint is still there.
    expect((await asAcme("GET", "/v1/webhook-endpoints")).body.data).toHaveLength(1);
  });

  it("an admin key's global endpoint hears of every tenant", async () => {
    const everyone = await startReceiver();
    try {
      const created = await stack.call("POST", "/v1/webhook-endpoints", {
        url: everyone.url,
        events: ["notification.state_changed"],
      });
      expect(created.status).toBe(201);
      const listed = await stack.call("GET", "/v1/webhook-endpoints");
      expect(listed.body.data.find((row: { id: string }) => row.id === created.body.id)).toMatchObject({
        tenant: null,
      });
      const to = `${randomUUID()}@globex.test`;
      const { id, resendEmailId } = await recordSend(to, asGlobex);
      await stack.postWebhook(resendEvent("email.sent", resendEmailId, 1, to));
      const [seen] = await waitForChanges(everyone, id, 1);
      verify(created.body.secret, seen as ReceivedRequest);
      expect(seen?.json.data).toMatchObject({ tenant: "globex", from: "recorded", to: "sent" });
      await waitForChanges(globex, id, 1);
      expect(stateChanges(acme, id)).toEqual([]);
      expect((await stack.call("DELETE", `/v1/webhook-endpoints/${created.body.id}`)).status).toBe(204);
    } finally {
      // A closed receiver's endpoint would fail, and be disabled, in the tests after this one.
      await stack.db.webhookEndpoint.deleteMany({ where: { url: everyone.url } });
      await everyone.close();
    }
  });

  it("a rotated secret: during the overlap each message verifies with the new secret and with the old one", async () => {
    const rotating = await startReceiver();
    try {
      const created = await asAcme("POST", "/v1/webhook-endpoints", {
        url: rotating.url,
        events: ["notification.state_changed"],
      });
      const oldSecret: string = created.body.secret;
      const rotated = await asAcme("POST", `/v1/webhook-endpoints/${created.body.id}/rotate-secret`);
      expect(rotated.status).toBe(200);
      const newSecret: string = rotated.body.secret;
      expect(newSecret).toMatch(/^whsec_/);
      expect(newSecret).not.toBe(oldSecret);
      const overlapEnds = Date.parse(rotated.body.previousSecretExpiresAt) - Date.now();
      expect(overlapEnds).toBeGreaterThan(23 * 3_600_000);
      const to = `${randomUUID()}@acme.test`;
      const { id, resendEmailId } = await recordSend(to);
      await stack.postWebhook(resendEvent("email.sent", resendEmailId, 1, to));
      const [message] = (await waitForChanges(rotating, id, 1)) as [ReceivedRequest];
      expect(String(message.headers["webhook-signature"]).split(" ")).toHaveLength(2);
      expect(verify(newSecret, message)).toMatchObject({ data: { notificationId: id } });
      expect(verify(oldSecret, message)).toMatchObject({ data: { notificationId: id } });
      // A secret never issued does not verify it.
      expect(() => verify(`whsec_${Buffer.from(randomUUID()).toString("base64")}`, message)).toThrow();
      expect((await asAcme("DELETE", `/v1/webhook-endpoints/${created.body.id}`)).status).toBe(204);
    } finally {
      // A closed receiver's endpoint would fail, and be disabled, in the tests after this one.
      await stack.db.webhookEndpoint.deleteMany({ where: { url: rotating.url } });
      await rotating.close();
    }
  });
});
