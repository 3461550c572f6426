// Outbound webhooks end to end: endpoints registered over /v1 with tenants' keys, Resend's webhooks
// posted signed to the real API, the real worker reconciling them and writing the outbox, the relay
// and the BullMQ webhooks queue delivering to local receivers that verify every message with svix.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type MailstateStack, mailstateSystem } from "@mailstate/api/testing";
import { apiKeys } from "@mailstate/db";
import { createLogger } from "@mailstate/runtime";
import { createMailstate } from "@mailstate/sdk";
import { type Answer, newSvixId, resendEvent, startStack, waitUntil } from "@mailstate/test-support";
import { type RunningWorkers, runMailstate } from "@mailstate/worker/testing";
import { Webhook } from "svix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

interface Received {
  id: string;
  headers: IncomingHttpHeaders;
  body: string;
  // biome-ignore lint/suspicious/noExplicitAny: the message as the receiver parsed it
  message: any;
  status: number;
}

/** A local endpoint: records every request; `answer` decides its status (200 unless told). */
class Receiver {
  readonly requests: Received[] = [];
  answer: (request: Received, index: number) => number = () => 200;
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<Receiver> {
    let self: Receiver | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        const request: Received = {
          id: String(req.headers["webhook-id"]),
          headers: req.headers,
          body,
          message: JSON.parse(body),
          status: 0,
        };
        const receiver = self as Receiver;
        request.status = receiver.answer(request, receiver.requests.length);
        receiver.requests.push(request);
        res.writeHead(request.status).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    self = new Receiver(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`);
    return self;
  }

  /** The messages it accepted (answered 2xx), in arrival order. */
  accepted(): Received[] {
    return this.requests.filter((request) => request.status >= 200 && request.status < 300);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** svix's own verifier, as an application runs it: throws unless the secret signed the message. */
function verify(secret: string, request: Received): unknown {
  new Webhook(secret).verify(request.body, {
    "webhook-id": String(request.headers["webhook-id"]),
    "webhook-timestamp": String(request.headers["webhook-timestamp"]),
    "webhook-signature": String(request.headers["webhook-signature"]),
  });
  return JSON.parse(request.body);
}

type Caller = (method: string, path: string, body?: unknown) => Promise<Answer>;

const ALL_EVENTS = ["notification.state_changed", "suppression.created", "suppression.removed"];
const bounce = { bounce: { type: "Permanent", subType: "General", message: "550 5.1.1 user unknown" } };

describe("outbound webhooks: tenants' endpoints, svix-signed delivery, retries, rotation", () => {
  let stack: MailstateStack;
  let acme: Receiver;
  let globex: Receiver;
  let asAcme: Caller;
  let asGlobex: Caller;
  let acmeEndpoint: { id: string; url: string; events: string[]; secret: string };
  let globexEndpoint: { id: string; secret: string };
  let worker: RunningWorkers;
  const errorLog: { object: object; message: string | undefined }[] = [];

  beforeAll(async () => {
    stack = await startStack("e2e_outbound", mailstateSystem, {
      env: {
        SUPPRESSION_SCOPE: "tenant",
        OUTBOUND_ALLOW_PRIVATE: "true",
        OUTBOUND_RETRY_BASE_MS: "50",
        OUTBOUND_RELAY_INTERVAL_MS: "100",
        OUTBOUND_DISABLE_AFTER_MS: "2000",
      },
    });
    const logger = createLogger("outbound-test", "error");
    // What the worker logs at error level, kept for the test that looks for the disabling line.
    logger.error = ((object: object, message?: string) => {
      errorLog.push({ object, message });
    }) as typeof logger.error;
    worker = await stack.startWorker({}, { logger });
    [acme, globex] = await Promise.all([Receiver.start(), Receiver.start()]);
    const keyOf = async (tenant: string) => (await apiKeys.create(stack.db, { tenant, name: null })).key;
    const [acmeKey, globexKey] = await Promise.all([keyOf("acme"), keyOf("globex")]);
    asAcme = (method, path, body) => stack.call(method, path, body, { authorization: `Bearer ${acmeKey}` });
    asGlobex = (method, path, body) => stack.call(method, path, body, { authorization: `Bearer ${globexKey}` });
    const created = await asAcme("POST", "/v1/webhook-endpoints", {
      url: acme.url,
      events: ALL_EVENTS,
      description: "acme's app",
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    acmeEndpoint = created.body;
    const other = await asGlobex("POST", "/v1/webhook-endpoints", { url: globex.url, events: ALL_EVENTS });
    expect(other.status).toBe(201);
    globexEndpoint = other.body;
  });
  afterAll(async () => {
    await stack?.close();
    await Promise.all([acme?.close(), globex?.close()]);
  });

  /** Record a send of acme's, and answer its id and Resend email id. */
  async function recordSend(to: string, caller: Caller = asAcme) {
    const resendEmailId = randomUUID();
    const recorded = await caller("POST", "/v1/notifications", {
      to,
      from: "Acme <hello@acme.test>",
      subject: "Welcome",
      category: "welcome",
      resendEmailId,
    });
    expect(recorded.status).toBe(201);
    return { id: recorded.body.notification.id as string, resendEmailId };
  }

  const stateChanges = (receiver: Receiver, notificationId: string) =>
    receiver
      .accepted()
      .filter(
        (r) => r.message.type === "notification.state_changed" && r.message.data.notificationId === notificationId,
      );

  async function waitForChanges(receiver: Receiver, notificationId: string, count: number) {
    return waitUntil(
      `${count} state_changed messages for ${notificationId}`,
      () => {
        const seen = stateChanges(receiver, notificationId);
        return seen.length >= count ? seen : undefined;
      },
      15_000,
      { detail: () => JSON.stringify(receiver.requests.map((r) => [r.status, r.message.type, r.message.data])) },
    );
  }

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
    // What the relay and the queue would still send arrives within a few passes of the relay.
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    const changes = stateChanges(acme, id);
    for (const request of changes) verify(acmeEndpoint.secret, request);
    expect(changes.map((r) => [r.message.data.from, r.message.data.to])).toEqual([
      ["recorded", "sent"],
      ["sent", "delivered"],
      ["delivered", "bounced"],
    ]);
    expect(new Set(changes.map((r) => r.id)).size).toBe(3);
    expect(changes[0]?.message).toEqual({
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
    expect(changes[2]?.message.data.event).toEqual({ type: "email.bounced", svixId: bounced });
    // The SDK's verify, as an application receives them: node's request headers and the raw body.
    const mailstate = createMailstate({ baseUrl: stack.baseUrl, apiKey: stack.apiKey });
    for (const request of changes)
      expect(mailstate.webhooks.verify(request.body, request.headers, acmeEndpoint.secret)).toEqual(request.message);
    // The hard bounce suppressed the address on acme's list: one suppression.created.
    const created = acme.accepted().filter((r) => r.message.type === "suppression.created");
    expect(created.map((r) => r.message.data)).toEqual([
      { email: to, reason: "hard_bounce", tenant: "acme", at: expect.any(String) },
    ]);
    verify(acmeEndpoint.secret, created[0] as Received);
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
        const messages = acme.accepted().filter((r) => r.message.data.email === email);
        return messages.length >= 2 ? messages : undefined;
      },
      10_000,
    );
    expect(seen.map((r) => [r.message.type, r.message.data.reason, r.message.data.tenant])).toEqual([
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
    const everyone = await Receiver.start();
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
      verify(created.body.secret, seen as Received);
      expect(seen?.message.data).toMatchObject({ tenant: "globex", from: "recorded", to: "sent" });
      await waitForChanges(globex, id, 1);
      expect(stateChanges(acme, id)).toEqual([]);
      expect((await stack.call("DELETE", `/v1/webhook-endpoints/${created.body.id}`)).status).toBe(204);
    } finally {
      // A closed receiver's endpoint would fail, and be disabled, in the tests after this one.
      await stack.db.webhookEndpoint.deleteMany({ where: { url: everyone.url } });
      await everyone.close();
    }
  });

  it("a receiver answering 500 three times, then 200: the message arrives once, with the same id; the delivery log and the CLI show it; replay re-sends it", async () => {
    const flaky = await Receiver.start();
    try {
      flaky.answer = (_request, index) => (index < 3 ? 500 : 200);
      const created = await asAcme("POST", "/v1/webhook-endpoints", {
        url: flaky.url,
        events: ["notification.state_changed"],
      });
      const to = `${randomUUID()}@acme.test`;
      const { id, resendEmailId } = await recordSend(to);
      await stack.postWebhook(resendEvent("email.sent", resendEmailId, 1, to));
      await waitForChanges(flaky, id, 1);
      expect(flaky.requests.map((r) => r.status)).toEqual([500, 500, 500, 200]);
      const ids = new Set(flaky.requests.map((r) => r.id));
      expect(ids.size).toBe(1);
      for (const request of flaky.requests) verify(created.body.secret, request);
      const [messageId] = [...ids] as [string];
      expect(messageId).toMatch(/^msg_[0-9a-f]{32}$/);

      const log = await runMailstate(stack, "webhooks", "deliveries", created.body.id, "--json");
      expect(log, log.stderr).toMatchObject({ code: 0 });
      expect(JSON.parse(log.stdout.trim())).toMatchObject({
        id: messageId,
        eventType: "notification.state_changed",
        status: "delivered",
        attempts: 4,
        lastStatusCode: 200,
      });
      const table = await runMailstate(stack, "webhooks", "deliveries", created.body.id);
      expect(table.stdout).toContain(messageId);
      expect(table.stdout).toMatch(/delivered\s+4\s+200/);
      const job = await stack.queues.webhooks.getJob(messageId);
      expect(job?.attemptsMade).toBe(4);

      const replayed = await runMailstate(stack, "webhooks", "replay", messageId);
      expect(replayed, replayed.stderr).toMatchObject({ code: 0 });
      expect(replayed.stdout).toContain(`queued ${messageId} again (was delivered)`);
      await waitUntil("the replay", () => flaky.accepted().length === 2, 10_000);
      expect(flaky.accepted().map((r) => r.id)).toEqual([messageId, messageId]);
      expect(flaky.accepted()[1]?.body).toBe(flaky.accepted()[0]?.body);
      expect((await asAcme("DELETE", `/v1/webhook-endpoints/${created.body.id}`)).status).toBe(204);

      const unknown = await runMailstate(stack, "webhooks", "replay", `msg_${"0".repeat(32)}`);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain(`no outbound message msg_${"0".repeat(32)}`);
      const badId = await runMailstate(stack, "webhooks", "replay", "nope");
      expect(badId.code).toBe(64);
      expect(badId.stderr).toContain("<message-id>: must be a message id (msg_…)");
    } finally {
      // A closed receiver's endpoint would fail, and be disabled, in the tests after this one.
      await stack.db.webhookEndpoint.deleteMany({ where: { url: flaky.url } });
      await flaky.close();
    }
  });

  it("in order per notification: while `sent` is retried, `delivered` waits for it, then follows", async () => {
    const ordered = await Receiver.start();
    try {
      ordered.answer = (_request, index) => (index < 3 ? 500 : 200);
      const created = await asAcme("POST", "/v1/webhook-endpoints", {
        url: ordered.url,
        events: ["notification.state_changed"],
      });
      expect(created.status).toBe(201);
      const to = `${randomUUID()}@acme.test`;
      const { id, resendEmailId } = await recordSend(to);
      await stack.postWebhook(resendEvent("email.sent", resendEmailId, 1, to));
      // The first attempt at `sent` failed: its change is committed, and `delivered` is a change of its own.
      await waitUntil("the first attempt", () => ordered.requests.length >= 1, 10_000);
      await stack.postWebhook(resendEvent("email.delivered", resendEmailId, 2, to));
      const accepted = await waitForChanges(ordered, id, 2);
      expect(accepted.map((r) => r.message.data.to)).toEqual(["sent", "delivered"]);
      const sentId = accepted[0]?.id;
      const deliveredId = accepted[1]?.id;
      // Every request for `delivered` came after `sent` was accepted: 500, 500, 500, 200 for sent, then delivered.
      expect(
        ordered.requests.map((r) => [r.id === sentId ? "sent" : r.id === deliveredId ? "delivered" : "?", r.status]),
      ).toEqual([
        ["sent", 500],
        ["sent", 500],
        ["sent", 500],
        ["sent", 200],
        ["delivered", 200],
      ]);
    } finally {
      await stack.db.webhookEndpoint.deleteMany({ where: { url: ordered.url } });
      await ordered.close();
    }
  });

  it("a rotated secret: during the overlap each message verifies with the new secret and with the old one", async () => {
    const rotating = await Receiver.start();
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
      const [message] = (await waitForChanges(rotating, id, 1)) as [Received];
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

  it("an endpoint failing for OUTBOUND_DISABLE_AFTER_MS is disabled: shown on the endpoint, counted in the metric, its message failed", async () => {
    const down = await Receiver.start();
    try {
      down.answer = () => 503;
      const created = await asAcme("POST", "/v1/webhook-endpoints", {
        url: down.url,
        events: ["notification.state_changed"],
      });
      const to = `${randomUUID()}@acme.test`;
      const { resendEmailId } = await recordSend(to);
      await stack.postWebhook(resendEvent("email.sent", resendEmailId, 1, to));
      const endpoint = await waitUntil(
        "the endpoint to be disabled",
        async () => {
          const listed = await asAcme("GET", "/v1/webhook-endpoints");
          const row = listed.body.data.find((e: { id: string }) => e.id === created.body.id);
          return row?.disabledAt ? row : undefined;
        },
        15_000,
      );
      expect(endpoint.disabledReason).toMatch(/^failing since .* \(last: HTTP 503: \)$/);
      const attempts = down.requests.length;
      expect(attempts).toBeGreaterThan(1);
      const log = await runMailstate(stack, "webhooks", "deliveries", created.body.id, "--json");
      expect(JSON.parse(log.stdout.trim())).toMatchObject({ status: "failed", lastStatusCode: 503 });
      const metrics = await worker.metrics.registry.getSingleMetricAsString(
        "mailstate_outbound_webhook_endpoints_disabled_total",
      );
      expect(metrics).toMatch(/mailstate_outbound_webhook_endpoints_disabled_total 1$/m);
      expect(errorLog).toContainEqual({
        object: expect.objectContaining({ endpointId: created.body.id, lastError: "HTTP 503: " }),
        message: "webhook endpoint disabled: every delivery failed for 2000 ms",
      });
      // Nothing more is sent to it.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(down.requests.length).toBe(attempts);
    } finally {
      // A closed receiver's endpoint would fail, and be disabled, in the tests after this one.
      await stack.db.webhookEndpoint.deleteMany({ where: { url: down.url } });
      await down.close();
    }
  });
});

describe("OUTBOUND_ALLOW_PRIVATE unset: private and loopback targets are refused", () => {
  let stack: MailstateStack;
  let receiver: Receiver;

  beforeAll(async () => {
    stack = await startStack("e2e_outbound_private", mailstateSystem, {
      env: { OUTBOUND_RETRY_BASE_MS: "50", OUTBOUND_RELAY_INTERVAL_MS: "100" },
    });
    await stack.startWorker();
    receiver = await Receiver.start();
  });
  afterAll(async () => {
    await stack?.close();
    await receiver?.close();
  });

  it.each([
    ["http://127.0.0.1:9/hook", "127.0.0.1 is a loopback, private, link-local or unspecified address"],
    ["http://localhost:9/hook", "resolves to"],
    ["http://10.1.2.3/hook", "10.1.2.3 is a"],
    ["http://192.168.1.1/hook", "192.168.1.1 is a"],
    ["http://169.254.169.254/latest/meta-data", "169.254.169.254 is a"],
    ["http://[::1]:9/hook", "::1 is a"],
    ["http://[fd00::1]/hook", "fd00::1 is a"],
    ["http://[fe80::1]/hook", "fe80::1 is a"],
    ["http://0.0.0.0/hook", "0.0.0.0 is a"],
    ["http://[::ffff:127.0.0.1]/hook", "is a loopback"],
  ])("POST %s → 422 endpoint-url-refused", async (url, says) => {
    const answer = await stack.call("POST", "/v1/webhook-endpoints", { url, events: ["suppression.created"] });
    expect(answer.status, JSON.stringify(answer.body)).toBe(422);
    expect(answer.contentType).toContain("application/problem+json");
    expect(answer.body.type).toBe("https://mailstate.dev/problems/endpoint-url-refused");
    expect(answer.body.detail).toContain(says);
    expect(answer.body.detail).toContain("OUTBOUND_ALLOW_PRIVATE=true allows it");
  });

  it("a public address is accepted", async () => {
    const answer = await stack.call("POST", "/v1/webhook-endpoints", {
      url: "https://93.184.215.14/hooks",
      events: ["suppression.created"],
    });
    expect(answer.status).toBe(201);
    expect((await stack.call("DELETE", `/v1/webhook-endpoints/${answer.body.id}`)).status).toBe(204);
  });

  it("at send time too: an endpoint that points at loopback by name is never connected to; the refusal is in its delivery log", async () => {
    // As if the name had resolved to a public address at registration (DNS rebinding): written directly.
    const { webhookEndpoints } = await import("@mailstate/db");
    const { row } = await webhookEndpoints.create(stack.db, {
      tenant: null,
      url: receiver.url.replace("127.0.0.1", "localhost"),
      events: ["suppression.created"],
      description: null,
    });
    expect((await stack.call("POST", "/v1/suppressions", { email: `${randomUUID()}@x.test` })).status).toBe(201);
    const entry = await waitUntil(
      "an attempt refused at send time",
      async () => {
        const log = await runMailstate(stack, "webhooks", "deliveries", row.id, "--json");
        const first = log.stdout.trim() ? JSON.parse(log.stdout.trim().split("\n")[0] ?? "") : undefined;
        return first?.attempts > 0 ? first : undefined;
      },
      10_000,
    );
    expect(entry.lastStatusCode).toBeNull();
    expect(entry.lastError).toMatch(
      /^refused: localhost resolves to (127\.0\.0\.1|::1), which is not a public address$/,
    );
    expect(receiver.requests).toEqual([]);
  });
});

describe("a worker killed between the commit and the send", () => {
  let stack: MailstateStack;
  let receiver: Receiver;

  beforeAll(async () => {
    stack = await startStack("e2e_outbound_kill", mailstateSystem, {
      env: { OUTBOUND_ALLOW_PRIVATE: "true", OUTBOUND_RETRY_BASE_MS: "50", OUTBOUND_RELAY_INTERVAL_MS: "100" },
    });
    receiver = await Receiver.start();
  });
  afterAll(async () => {
    await stack?.close();
    await receiver?.close();
  });

  it("SIGKILL after the outbox row is committed, before the relay sends it: the next worker sends it, with the row's id", async () => {
    const created = await stack.call("POST", "/v1/webhook-endpoints", {
      url: receiver.url,
      events: ["notification.state_changed"],
    });
    const to = `${randomUUID()}@acme.test`;
    const resendEmailId = randomUUID();
    const recorded = await stack.call("POST", "/v1/notifications", {
      to,
      from: "a@acme.test",
      subject: "Hi",
      resendEmailId,
    });
    // This worker's relay would first pass in an hour: the row stays committed and unsent.
    const doomed = stack.spawnWorker({ OUTBOUND_RELAY_INTERVAL_MS: "3600000" });
    await doomed.waitFor(/worker ready/, 30_000);
    await stack.postWebhook(resendEvent("email.sent", resendEmailId, 1, to), newSvixId());
    const row = await waitUntil(
      "the outbox row",
      async () => (await stack.db.outboundMessage.findFirst({ where: { endpointId: created.body.id } })) ?? undefined,
      15_000,
      { detail: () => doomed.output().slice(-3_000) },
    );
    expect(row).toMatchObject({ status: "pending", attempts: 0 });
    await doomed.stop("SIGKILL");
    expect(receiver.requests).toEqual([]);

    await stack.startWorker();
    await waitUntil("the message", () => receiver.accepted().length === 1, 15_000);
    const [message] = receiver.accepted() as [Received];
    expect(message.id).toBe(row.id);
    expect(message.message.data).toMatchObject({ notificationId: recorded.body.notification.id, to: "sent" });
  });
});
