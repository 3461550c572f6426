// Outbound webhooks when delivery fails, end to end on the real API and worker: a receiver answering
// 500 until it recovers (retried, one message id, replayable from the CLI), order kept while a message
// is retried, an endpoint failing long enough disabled, and a worker killed between the outbox commit
// and the send.
import { randomUUID } from "node:crypto";
import { type MailstateStack, mailstateSystem } from "@mailstate/api/testing";
import {
  type HttpReceiver,
  newSvixId,
  type ReceivedRequest,
  resendEvent,
  startStack,
  waitUntil,
} from "@mailstate/test-support";
import { type RunningWorkers, runMailstate } from "@mailstate/worker/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Caller,
  type OutboundTenants,
  startOutboundTenants,
  startReceiver,
  verify,
  waitForChanges,
  waitForOutboxSettled,
  webhookId,
} from "./outbound-fixtures.ts";

describe("outbound webhooks: retries, order during retries, a failing endpoint disabled", () => {
  let stack: MailstateStack;
  let worker: RunningWorkers;
  let errorLog: OutboundTenants["errorLog"];
  let asAcme: Caller;
  let recordSend: OutboundTenants["recordSend"];
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ stack, worker, errorLog, asAcme, recordSend, close } = await startOutboundTenants("e2e_outbound_failures"));
  });
  afterAll(() => close?.());

  it("a receiver answering 500 three times, then 200: the message arrives once, with the same id; the delivery log and the CLI show it; replay re-sends it", async () => {
    const flaky = await startReceiver();
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
      const ids = new Set(flaky.requests.map(webhookId));
      expect(ids.size).toBe(1);
      for (const request of flaky.requests) verify(created.body.secret, request);
      const [messageId] = [...ids] as [string];
      expect(messageId).toMatch(/^msg_[0-9a-f]{32}$/);
      // The 200 is written to the delivery log once the receiver has answered it.
      await waitForOutboxSettled(stack, [created.body.id]);

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
      // And the job completes after that.
      const job = await waitUntil(
        "the delivery job to complete",
        async () => {
          const found = await stack.queues.webhooks.getJob(messageId);
          return found?.finishedOn ? found : undefined;
        },
        10_000,
      );
      expect(job?.attemptsMade).toBe(4);

      const replayed = await runMailstate(stack, "webhooks", "replay", messageId);
      expect(replayed, replayed.stderr).toMatchObject({ code: 0 });
      expect(replayed.stdout).toContain(`queued ${messageId} again (was delivered)`);
      await waitUntil("the replay", () => flaky.accepted().length === 2, 10_000);
      expect(flaky.accepted().map(webhookId)).toEqual([messageId, messageId]);
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
    const ordered = await startReceiver();
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
      expect(accepted.map((r) => r.json.data.to)).toEqual(["sent", "delivered"]);
      const [sentId, deliveredId] = accepted.map(webhookId);
      // Every request for `delivered` came after `sent` was accepted: 500, 500, 500, 200 for sent, then delivered.
      expect(
        ordered.requests.map((r) => [
          webhookId(r) === sentId ? "sent" : webhookId(r) === deliveredId ? "delivered" : "?",
          r.status,
        ]),
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

  it("an endpoint failing for OUTBOUND_DISABLE_AFTER_MS is disabled: shown on the endpoint, counted in the metric, its message failed", async () => {
    const down = await startReceiver();
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
      // Counted (and logged) just after the endpoint is marked disabled.
      const metrics = await waitUntil(
        "the disabling counted",
        async () => {
          const text = await worker.metrics.registry.getSingleMetricAsString(
            "mailstate_outbound_webhook_endpoints_disabled_total",
          );
          return /_total [1-9]/.test(text) ? text : undefined;
        },
        5_000,
      );
      expect(metrics).toMatch(/mailstate_outbound_webhook_endpoints_disabled_total 1$/m);
      expect(errorLog).toContainEqual({
        object: expect.objectContaining({ endpointId: created.body.id, lastError: "HTTP 503: " }),
        message: "webhook endpoint disabled: every delivery failed for 2000 ms",
      });
      // Nothing more is sent to it: its message is failed, not pending, so the relay has nothing to send.
      await waitForOutboxSettled(stack, [created.body.id]);
      expect(down.requests.length).toBe(attempts);
    } finally {
      // A closed receiver's endpoint would fail, and be disabled, in the tests after this one.
      await stack.db.webhookEndpoint.deleteMany({ where: { url: down.url } });
      await down.close();
    }
  });
});

describe("a worker killed between the commit and the send", () => {
  let stack: MailstateStack;
  let receiver: HttpReceiver;

  beforeAll(async () => {
    stack = await startStack("e2e_outbound_kill", mailstateSystem, {
      env: { OUTBOUND_ALLOW_PRIVATE: "true", OUTBOUND_RETRY_BASE_MS: "50", OUTBOUND_RELAY_INTERVAL_MS: "100" },
    });
    receiver = await startReceiver();
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
    const [message] = receiver.accepted() as [ReceivedRequest];
    expect(webhookId(message)).toBe(row.id);
    expect(message.json.data).toMatchObject({ notificationId: recorded.body.notification.id, to: "sent" });
  });
});
