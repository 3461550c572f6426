// Cancelling a scheduled send end to end: the SDK's cancel → POST /v1/notifications/:id/cancel →
// Resend's emails.cancel on the stand-in over HTTP → the cancel recorded in the log as Resend reports
// it (email.failed, reason canceled) → the worker folds it to the final state `canceled`: on the
// notification, its timeline, the outbound notification.state_changed, and not counted as sent.
import { randomUUID } from "node:crypto";
import { type MailstateStack, mailstateSystem } from "@mailstate/api/testing";
import { apiKeys } from "@mailstate/db";
import { createResendStandin, type ResendStandin } from "@mailstate/resend-standin";
import { createMailstate, type Mailstate, MailstateError } from "@mailstate/sdk";
import { type ApiClient, resendEvent, startStack, waitUntil } from "@mailstate/test-support";
import { Resend } from "resend";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let stack: MailstateStack;
let standin: ResendStandin;
/** The API with RESEND_API_KEY (the stack's own runs without it). */
let api: ApiClient;
let mailstate: Mailstate;
let resend: Resend;
const RESEND_KEY = "re_cancel_test_key";

beforeAll(async () => {
  standin = await createResendStandin({ apiKey: RESEND_KEY });
  stack = await startStack("e2e_cancel", mailstateSystem, { env: { OUTBOUND_ALLOW_PRIVATE: "true" } });
  await stack.startWorker();
  api = await stack.startApi({ RESEND_API_KEY: RESEND_KEY, RESEND_BASE_URL: standin.url });
  mailstate = createMailstate({ baseUrl: api.baseUrl, apiKey: stack.apiKey });
  resend = new Resend(RESEND_KEY, { baseUrl: standin.url });
});
afterAll(async () => {
  await stack?.close();
  await standin?.close();
});

const stateOf = async (id: string) => (await stack.db.notification.findUniqueOrThrow({ where: { id } })).state;

/** A send through Resend (scheduled for tomorrow, or not), recorded with mailstate; its ids. */
async function send({ scheduled, from = "Acme <billing@acme.test>" }: { scheduled: boolean; from?: string }) {
  const to = `cancel-${randomUUID().slice(0, 8)}@example.com`;
  const sent = await resend.emails.send({
    from,
    to,
    subject: "Your invoice",
    text: "Attached.",
    ...(scheduled ? { scheduledAt: new Date(Date.now() + 86_400_000).toISOString() } : {}),
  });
  const emailId = sent.data?.id ?? "";
  const recorded = await mailstate.record({ to, from, subject: "Your invoice", resendEmailId: emailId });
  if (recorded.status === "disabled") throw new Error("the SDK is disabled");
  return { id: recorded.notification.id, emailId, to };
}

/** A scheduled send whose email.scheduled webhook has applied. */
async function scheduledSend(from?: string) {
  const ids = await send({ scheduled: true, ...(from ? { from } : {}) });
  await stack.postWebhook(resendEvent("email.scheduled", ids.emailId, 1, ids.to));
  await waitUntil("the notification to be scheduled", async () => (await stateOf(ids.id)) === "scheduled", 10_000);
  return ids;
}

describe("cancelling a scheduled send", () => {
  it("input: SDK cancel(id) of a scheduled send → {status canceled}; Resend's last_event canceled; state canceled (final), the timeline's last entry email.failed (reason canceled) → canceled; a notification.state_changed to canceled queued; not counted as sent; a second cancel → the same answer, one event", async () => {
    const endpoint = await api.call("POST", "/v1/webhook-endpoints", {
      url: "http://127.0.0.1:9/hooks",
      events: ["notification.state_changed"],
    });
    expect(endpoint.status).toBe(201);
    const fromDomain = `cancel-${randomUUID().slice(0, 6)}.test`;
    const { id, emailId } = await scheduledSend(`Acme <billing@${fromDomain}>`);

    expect(await mailstate.cancel(id)).toEqual({ status: "canceled", id, resendEmailId: emailId });
    expect(standin.emails.get(emailId)?.canceled).toBe(true);
    const atResend = await resend.emails.get(emailId);
    expect(atResend.data?.last_event).toBe("canceled");
    await waitUntil("the notification to be canceled", async () => (await stateOf(id)) === "canceled", 10_000);

    const timeline = await mailstate.timeline(id);
    expect(timeline?.state).toBe("canceled");
    const last = timeline?.events.at(-1);
    expect([last?.type, last?.stateBefore, last?.stateAfter]).toEqual(["email.failed", "scheduled", "canceled"]);
    const messages = await stack.sql.query(
      "SELECT payload FROM outbound_messages WHERE event_type = 'notification.state_changed' AND payload->'data'->>'notificationId' = $1 ORDER BY seq",
      [id],
    );
    expect(messages.rows.map((row) => [row.payload.data.from, row.payload.data.to])).toEqual([
      ["recorded", "scheduled"],
      ["scheduled", "canceled"],
    ]);
    const rollups = await stack.sql.query(
      "SELECT coalesce(sum(sent), 0)::int AS sent FROM reputation_hourly WHERE from_domain = $1",
      [fromDomain],
    );
    expect(rollups.rows[0].sent).toBe(0);

    // Final: a later delivered (Resend never sends one for it) changes nothing; a second cancel answers the same.
    await stack.postWebhook(resendEvent("email.delivered", emailId, 50, "x@example.com"));
    await stack.drained();
    expect(await stateOf(id)).toBe("canceled");
    const cancelsBefore = standin.routeCalls.get("POST /emails/:id/cancel");
    expect(await mailstate.cancel(id)).toEqual({ status: "canceled", id, resendEmailId: emailId });
    expect(standin.routeCalls.get("POST /emails/:id/cancel")).toBe(cancelsBefore);
    const logged = await stack.sql.query("SELECT count(*)::int AS n FROM event_log WHERE svix_id = $1", [
      `mailstate-cancel_${emailId}`,
    ]);
    expect(logged.rows[0].n).toBe(1);
  });

  it("input: cancel of a delivered notification → 409 'is delivered, not scheduled', Resend not called, state unchanged", async () => {
    const { id, emailId, to } = await send({ scheduled: false });
    await stack.postWebhook(resendEvent("email.delivered", emailId, 2, to));
    await waitUntil("the notification to be delivered", async () => (await stateOf(id)) === "delivered", 10_000);
    const calls = standin.routeCalls.get("POST /emails/:id/cancel") ?? 0;
    const answer = await api.call("POST", `/v1/notifications/${id}/cancel`);
    expect([answer.status, answer.contentType, answer.body.detail]).toEqual([
      409,
      "application/problem+json; charset=utf-8",
      `notification ${id} is delivered, not scheduled: only a scheduled send can be cancelled`,
    ]);
    expect(standin.routeCalls.get("POST /emails/:id/cancel") ?? 0).toBe(calls);
    expect(await stateOf(id)).toBe("delivered");
  });

  it("input: cancel of a send Resend never scheduled (still recorded here) → Resend refuses (422) → 409 naming Resend's reason; state unchanged, nothing logged", async () => {
    const { id, emailId } = await send({ scheduled: false });
    const answer = await api.call("POST", `/v1/notifications/${id}/cancel`);
    expect(answer.status).toBe(409);
    expect(answer.body.detail).toBe(
      `Resend did not cancel notification ${id}: emails.cancel: 422 Email cannot be canceled: it is not scheduled.`,
    );
    expect(await stateOf(id)).toBe("recorded");
    const logged = await stack.sql.query("SELECT count(*)::int AS n FROM event_log WHERE svix_id = $1", [
      `mailstate-cancel_${emailId}`,
    ]);
    expect(logged.rows[0].n).toBe(0);
  });

  it("input: another tenant's key cancels acme's scheduled send → 404 as an unknown id, Resend not called; an unknown id → 404; 'abc' → 400 naming id; SDK → MailstateError 404", async () => {
    const { id } = await scheduledSend();
    await stack.db.notification.update({ where: { id }, data: { tenant: "acme" } });
    const globex = (await apiKeys.create(stack.db, { tenant: "globex", name: null })).key;
    const calls = standin.routeCalls.get("POST /emails/:id/cancel") ?? 0;
    const foreign = await api.call("POST", `/v1/notifications/${id}/cancel`, undefined, {
      authorization: `Bearer ${globex}`,
    });
    expect([foreign.status, foreign.body.detail]).toEqual([404, `no notification has id ${id}`]);
    expect(standin.routeCalls.get("POST /emails/:id/cancel") ?? 0).toBe(calls);
    expect(await stateOf(id)).toBe("scheduled");
    const unknown = randomUUID();
    expect((await api.call("POST", `/v1/notifications/${unknown}/cancel`)).status).toBe(404);
    const bad = await api.call("POST", "/v1/notifications/abc/cancel");
    expect([bad.status, bad.body.errors?.[0]?.path]).toEqual([400, "id"]);
    await expect(createMailstate({ baseUrl: api.baseUrl, apiKey: globex }).cancel(id)).rejects.toSatisfy(
      (error) => error instanceof MailstateError && error.status === 404,
    );
  });

  it("input: Resend answers 503 to the cancel → 503 resend_unavailable with Retry-After, state unchanged; retried once Resend is back → canceled", async () => {
    const { id } = await scheduledSend();
    standin.injectFault({ route: "POST /emails/:id/cancel", status: 503 });
    const down = await api.call("POST", `/v1/notifications/${id}/cancel`);
    expect([down.status, down.headers.get("retry-after"), down.body.type]).toEqual([
      503,
      "5",
      "https://mailstate.dev/problems/resend-unavailable",
    ]);
    expect(await stateOf(id)).toBe("scheduled");
    expect((await api.call("POST", `/v1/notifications/${id}/cancel`)).status).toBe(202);
    await waitUntil("the notification to be canceled", async () => (await stateOf(id)) === "canceled", 10_000);
  });

  it("input: the API without RESEND_API_KEY → 501 naming RESEND_API_KEY; nothing changes", async () => {
    const { id } = await scheduledSend();
    const answer = await stack.call("POST", `/v1/notifications/${id}/cancel`);
    expect([answer.status, answer.body.detail]).toEqual([
      501,
      "cancelling a send calls Resend's API: set RESEND_API_KEY",
    ]);
    expect(await stateOf(id)).toBe("scheduled");
  });
});
