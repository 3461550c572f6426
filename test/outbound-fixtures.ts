// What the outbound webhook tests (e2e-outbound-*.test.ts) share: the real API and worker with fast
// outbound settings, tenants acme and globex each with an endpoint on a local receiver of its own,
// svix's own verifier, and the waits for what the receivers get.
import { randomUUID } from "node:crypto";
import { type MailstateStack, mailstateSystem } from "@mailstate/api/testing";
import { apiKeys } from "@mailstate/db";
import { createLogger } from "@mailstate/runtime";
import { type Answer, HttpReceiver, type ReceivedRequest, startStack, waitUntil } from "@mailstate/test-support";
import type { RunningWorkers } from "@mailstate/worker/testing";
import { Webhook } from "svix";
import { expect } from "vitest";

export type Caller = (method: string, path: string, body?: unknown) => Promise<Answer>;

export const ALL_EVENTS = ["notification.state_changed", "suppression.created", "suppression.removed"];
export const bounce = { bounce: { type: "Permanent", subType: "General", message: "550 5.1.1 user unknown" } };

/** A local endpoint for outbound webhooks: records every request, answers 200 unless told otherwise. */
export const startReceiver = () => HttpReceiver.start({ path: "/hooks" });

/** The Standard Webhooks message id a request carries (webhook-id). */
export const webhookId = (request: ReceivedRequest) => String(request.headers["webhook-id"]);

/** svix's own verifier, as an application runs it: throws unless the secret signed the message. */
export function verify(secret: string, request: ReceivedRequest): unknown {
  new Webhook(secret).verify(request.body, {
    "webhook-id": webhookId(request),
    "webhook-timestamp": String(request.headers["webhook-timestamp"]),
    "webhook-signature": String(request.headers["webhook-signature"]),
  });
  return JSON.parse(request.body);
}

/** The state_changed messages of one notification a receiver accepted, in arrival order. */
export const stateChanges = (receiver: HttpReceiver, notificationId: string) =>
  receiver
    .accepted()
    .filter((r) => r.json.type === "notification.state_changed" && r.json.data.notificationId === notificationId);

/** Until a receiver has accepted `count` state_changed messages of one notification, which it answers. */
export function waitForChanges(receiver: HttpReceiver, notificationId: string, count: number) {
  return receiver.waitFor(
    `${count} state_changed messages for ${notificationId}`,
    () => {
      const seen = stateChanges(receiver, notificationId);
      return seen.length >= count ? seen : undefined;
    },
    15_000,
    () => JSON.stringify(receiver.requests.map((r) => [r.status, r.json.type, r.json.data])),
  );
}

/**
 * Until no message to these endpoints is pending in the outbox: each was delivered or failed for
 * good, so the relay has nothing more to send them and their receivers hold all they will get (a
 * message is POSTed before it is marked delivered). Call it once every change that writes messages
 * has been reconciled (`stack.drained()`).
 */
export async function waitForOutboxSettled(stack: MailstateStack, endpointIds: string[]): Promise<void> {
  let pending: unknown[] = [];
  await waitUntil(
    "no outbound message pending",
    async () => {
      pending = await stack.db.outboundMessage.findMany({
        where: { endpointId: { in: endpointIds }, status: "pending" },
        select: { id: true, eventType: true, attempts: true, lastError: true },
      });
      return pending.length === 0;
    },
    15_000,
    { detail: () => JSON.stringify(pending) },
  );
}

export interface OutboundTenants {
  stack: MailstateStack;
  worker: RunningWorkers;
  /** What the worker logged at error level. */
  errorLog: { object: object; message: string | undefined }[];
  acme: HttpReceiver;
  globex: HttpReceiver;
  asAcme: Caller;
  asGlobex: Caller;
  /** acme's endpoint (every event type, on `acme`), as created: its secret shown once. */
  acmeEndpoint: { id: string; url: string; events: string[]; secret: string };
  globexEndpoint: { id: string; secret: string };
  /** Record a send (acme's, unless another caller is given); answers its id and Resend email id. */
  recordSend(to: string, caller?: Caller): Promise<{ id: string; resendEmailId: string }>;
  close(): Promise<void>;
}

/**
 * A stack in tenant suppression scope whose worker retries from 50 ms, relays every 100 ms and
 * disables an endpoint after 2 s of failures, with an API key and an endpoint for acme and globex.
 */
export async function startOutboundTenants(label: string): Promise<OutboundTenants> {
  const stack = await startStack(label, mailstateSystem, {
    env: {
      SUPPRESSION_SCOPE: "tenant",
      OUTBOUND_ALLOW_PRIVATE: "true",
      OUTBOUND_RETRY_BASE_MS: "50",
      OUTBOUND_RELAY_INTERVAL_MS: "100",
      OUTBOUND_DISABLE_AFTER_MS: "2000",
    },
  });
  try {
    const errorLog: OutboundTenants["errorLog"] = [];
    const logger = createLogger("outbound-test", "error");
    // What the worker logs at error level, kept for the test that looks for the disabling line.
    logger.error = ((object: object, message?: string) => {
      errorLog.push({ object, message });
    }) as typeof logger.error;
    const worker = await stack.startWorker({}, { logger });
    const [acme, globex] = await Promise.all([startReceiver(), startReceiver()]);
    const keyOf = async (tenant: string) => (await apiKeys.create(stack.db, { tenant, name: null })).key;
    const [acmeKey, globexKey] = await Promise.all([keyOf("acme"), keyOf("globex")]);
    const asAcme: Caller = (method, path, body) =>
      stack.call(method, path, body, { authorization: `Bearer ${acmeKey}` });
    const asGlobex: Caller = (method, path, body) =>
      stack.call(method, path, body, { authorization: `Bearer ${globexKey}` });
    const created = await asAcme("POST", "/v1/webhook-endpoints", {
      url: acme.url,
      events: ALL_EVENTS,
      description: "acme's app",
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const other = await asGlobex("POST", "/v1/webhook-endpoints", { url: globex.url, events: ALL_EVENTS });
    expect(other.status).toBe(201);
    return {
      stack,
      worker,
      errorLog,
      acme,
      globex,
      asAcme,
      asGlobex,
      acmeEndpoint: created.body,
      globexEndpoint: other.body,
      async recordSend(to, caller = asAcme) {
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
      },
      async close() {
        await stack.close();
        await Promise.all([acme.close(), globex.close()]);
      },
    };
  } catch (error) {
    // A setup that failed half-way leaves no API or worker running.
    await stack.close();
    throw error;
  }
}
