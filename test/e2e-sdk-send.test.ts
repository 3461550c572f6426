// The SDK's suppression-aware send path against the real API (PostgreSQL, Redis) and the Resend stand-in.
import { randomUUID } from "node:crypto";
import { type MailstateStack, mailstateSystem } from "@mailstate/api/testing";
import { createResendStandin, type ResendStandin } from "@mailstate/resend-standin";
import { createMailstate, type Mailstate, MailstateError } from "@mailstate/sdk";
import { startStack } from "@mailstate/test-support";
import { Resend } from "resend";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

let stack: MailstateStack;
let standin: ResendStandin;
let resend: Resend;
let mailstate: Mailstate;

beforeAll(async () => {
  stack = await startStack("e2e_sdk", mailstateSystem);
  standin = await createResendStandin();
  resend = new Resend("re_test_key", { baseUrl: standin.url });
  mailstate = createMailstate({ baseUrl: stack.baseUrl, apiKey: stack.apiKey });
});
afterAll(async () => {
  await stack?.close();
  await standin?.close();
});
beforeEach(() => standin.reset());

const address = () => `${randomUUID()}@sdk.test`;
const email = (to: string | string[], extra: Record<string, unknown> = {}) => ({
  from: "Acme <hello@acme.test>",
  to,
  subject: "Reset your password",
  html: "<p>Reset</p>",
  ...extra,
});

describe("send", () => {
  it("a clean recipient → sent; the notification is recorded with the idempotency key Resend got, then attached to Resend's id", async () => {
    const to = address();
    const result = await mailstate.send(resend, email(to, { tags: [{ name: "kind", value: "reset" }] }), {
      tenant: "t1",
      category: "password_reset",
    });
    if (result.status !== "sent" || !result.notificationId) throw new Error(`not sent: ${JSON.stringify(result)}`);
    expect(result.warnings).toEqual([]);
    expect(standin.sent.map((sent) => sent.id)).toEqual([result.resendEmailId]);
    const notification = await mailstate.get(result.notificationId);
    expect(notification).toMatchObject({
      to: [to],
      resendEmailId: result.resendEmailId,
      tenant: "t1",
      category: "password_reset",
      tags: { kind: "reset" },
      suppressionBypassed: false,
      state: "recorded",
    });
    expect(standin.sent[0]?.idempotencyKey).toBe(notification?.idempotencyKey);
    // Resend got the email's own tag and the notification's id, which its webhooks echo back.
    expect(standin.sent[0]?.tags).toEqual([
      { name: "kind", value: "reset" },
      { name: "mailstate_id", value: result.notificationId },
    ]);
  });

  it("a suppressed recipient (among two) → status suppressed naming it and its reason; nothing sent, nothing recorded", async () => {
    const clean = address();
    const blocked = address();
    await mailstate.suppress(blocked, "asked to stop");
    const result = await mailstate.send(resend, email([clean, `Blocked <${blocked.toUpperCase()}>`]));
    expect(result).toEqual({
      status: "suppressed",
      notificationId: null,
      suppressed: [{ email: blocked, reason: "manual" }],
    });
    expect(standin.sent).toHaveLength(0);
    expect((await mailstate.list({ email: clean })).data).toEqual([]);
  });

  it("a suppressed cc → refused too", async () => {
    const blocked = address();
    await mailstate.suppress(blocked);
    const result = await mailstate.send(resend, email(address(), { cc: blocked }));
    expect(result.status).toBe("suppressed");
  });

  it("a suppressed recipient with bypassSuppression → sent, and the notification records suppressionBypassed", async () => {
    const blocked = address();
    await mailstate.suppress(blocked);
    const result = await mailstate.send(resend, email(blocked), { bypassSuppression: true });
    if (result.status !== "sent" || !result.notificationId) throw new Error(`not sent: ${JSON.stringify(result)}`);
    expect(standin.sent).toHaveLength(1);
    expect(await mailstate.get(result.notificationId)).toMatchObject({
      suppressionBypassed: true,
      resendEmailId: result.resendEmailId,
    });
  });

  it("the same idempotencyKey sent twice → one notification, one email at Resend, the same ids both times", async () => {
    const to = address();
    const key = `signup-${randomUUID()}`;
    const first = await mailstate.send(resend, email(to), { idempotencyKey: key });
    const second = await mailstate.send(resend, email(to), { idempotencyKey: key });
    expect(second).toEqual(first);
    expect(standin.sent).toHaveLength(1);
    expect((await mailstate.list({ email: to })).data).toHaveLength(1);
  });

  it("an email Resend refuses (no html or text) → failed from resend with Resend's 422; the notification carries the refusal", async () => {
    const result = await mailstate.send(resend, { from: "hello@acme.test", to: address(), subject: "s" } as never);
    expect(result).toMatchObject({ status: "failed", source: "resend", error: { statusCode: 422 }, warnings: [] });
    if (result.status !== "failed" || !result.notificationId) throw new Error("expected a recorded failure");
    const stored = await mailstate.get(result.notificationId);
    expect(stored).toMatchObject({
      resendEmailId: null,
      state: "recorded",
      sendError: { name: result.error.name, message: result.error.message, statusCode: 422 },
    });
    expect(Date.parse(stored?.sendError?.at ?? "")).toBeGreaterThan(Date.now() - 60_000);
  });

  it("input: Resend unreachable (nothing listens on its port) → failed from resend with no status; the outcome is unknown, so no refusal is recorded", async () => {
    const unreachable = new Resend("re_test_key", { baseUrl: "http://127.0.0.1:1" });
    const result = await mailstate.send(unreachable, email(address()));
    expect(result).toMatchObject({ status: "failed", source: "resend", error: { statusCode: null } });
    if (result.status !== "failed" || !result.notificationId) throw new Error("expected a recorded notification");
    expect(await mailstate.get(result.notificationId)).toMatchObject({ resendEmailId: null, sendError: null });
  });

  it("refused, then sent again with the same idempotencyKey → sent; the refusal is cleared when the id is attached", async () => {
    const to = address();
    const key = `retry-${randomUUID()}`;
    const refused = await mailstate.send(resend, { from: "hello@acme.test", to, subject: "s" } as never, {
      idempotencyKey: key,
    });
    const retried = await mailstate.send(resend, email(to), { idempotencyKey: key });
    if (refused.status !== "failed" || retried.status !== "sent")
      throw new Error(`got ${refused.status}, ${retried.status}`);
    expect(retried.notificationId).toBe(refused.notificationId);
    expect(await mailstate.get(retried.notificationId as string)).toMatchObject({
      resendEmailId: retried.resendEmailId,
      sendError: null,
    });
  });
});

describe("sendBatch", () => {
  it("250 emails → 3 batch calls to Resend (100, 100, 50), 250 notifications recorded and attached, 3 + 3 calls to mailstate", async () => {
    const tenant = `batch-${randomUUID()}`;
    const emails = Array.from({ length: 250 }, (_, i) => email(`user${i}-${tenant}@sdk.test`));
    const calls: string[] = [];
    const counting = createMailstate({
      baseUrl: stack.baseUrl,
      apiKey: stack.apiKey,
      fetch: (input, init) => {
        calls.push(`${init?.method ?? "GET"} ${new URL(String(input)).pathname}`);
        return fetch(input, init);
      },
    });
    const results = await counting.sendBatch(resend, emails, { tenant });
    expect(standin.batchCalls.map((call) => call.size)).toEqual([100, 100, 50]);
    // One suppression check, then per chunk one record and one attach: not one request per email.
    expect(calls).toEqual([
      "POST /v1/suppressions/check",
      ...Array(3).fill(["POST /v1/notifications/batch", "PATCH /v1/notifications/batch"]).flat(),
    ]);
    expect(results.map((result) => result.status)).toEqual(Array(250).fill("sent"));
    const pages = [];
    let cursor: string | undefined;
    do {
      const page = await mailstate.list({ tenant, limit: 100, ...(cursor ? { cursor } : {}) });
      pages.push(...page.data);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(pages).toHaveLength(250);
    expect(new Set(pages.map((row) => row.resendEmailId))).toEqual(new Set(standin.sent.map((sent) => sent.id)));
    // Each email of the batch carries its own notification's id as the mailstate_id tag.
    const idOf = new Map(pages.map((row) => [row.resendEmailId, row.id]));
    for (const sent of standin.sent) expect(sent.tags).toEqual([{ name: "mailstate_id", value: idOf.get(sent.id) }]);
  });

  it("input: 3 emails, the second with neither html nor text → Resend refuses the whole batch: 3 failed, each notification carrying the 422", async () => {
    const emails = [email(address()), { from: "hello@acme.test", to: address(), subject: "s" }, email(address())];
    const results = await mailstate.sendBatch(resend, emails as never[]);
    expect(results.map((result) => [result.status, result.status === "failed" && result.source])).toEqual(
      Array(3).fill(["failed", "resend"]),
    );
    for (const result of results) {
      if (result.status !== "failed" || !result.notificationId) throw new Error("expected a recorded failure");
      expect(result.warnings).toEqual([]);
      expect(await mailstate.get(result.notificationId)).toMatchObject({
        resendEmailId: null,
        sendError: { statusCode: 422, name: result.error.name, message: result.error.message },
      });
    }
  });

  it("3 emails, the second to a suppressed address → [sent, suppressed, sent] and one batch call of 2", async () => {
    const blocked = address();
    await mailstate.suppress(blocked);
    const results = await mailstate.sendBatch(resend, [email(address()), email(blocked), email(address())]);
    expect(results.map((result) => result.status)).toEqual(["sent", "suppressed", "sent"]);
    expect(standin.batchCalls.map((call) => call.size)).toEqual([2]);
  });
});

describe("reportSendOutcomes", () => {
  it("input: [fresh, already attached to another id, unknown] → [attached, conflict, not_found], no throw", async () => {
    const fresh = await mailstate.record({ to: [address()], from: "a@acme.test", subject: "s" });
    const taken = await mailstate.record({
      to: [address()],
      from: "a@acme.test",
      subject: "s",
      resendEmailId: randomUUID(),
    });
    const unknown = randomUUID();
    const freshEmailId = randomUUID();
    const results = await mailstate.reportSendOutcomes([
      { notificationId: fresh.notification?.id as string, resendEmailId: freshEmailId },
      { notificationId: taken.notification?.id as string, resendEmailId: randomUUID() },
      { notificationId: unknown, resendEmailId: randomUUID() },
    ]);
    expect(results).toEqual([
      {
        id: fresh.notification?.id,
        status: "attached",
        notification: expect.objectContaining({ resendEmailId: freshEmailId }),
      },
      {
        id: taken.notification?.id,
        status: "conflict",
        notification: null,
        detail: expect.stringMatching(/already carries/),
      },
      { id: unknown, status: "not_found", notification: null, detail: `no notification has id ${unknown}` },
    ]);
  });
});

describe("the SDK's reads and errors", () => {
  it("record with `to: []` → MailstateError validation_failed, status 400, errors naming to", async () => {
    const error = await mailstate
      .record({ to: [], from: "a@acme.test", subject: "s" })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MailstateError);
    expect(error).toMatchObject({ code: "validation_failed", status: 400 });
    expect((error as MailstateError).errors.map((item) => item.path)).toContain("to");
  });

  it("a wrong API key → MailstateError unauthorized, status 401", async () => {
    const wrong = createMailstate({ baseUrl: stack.baseUrl, apiKey: "msk_wrong_wrong_wrong_wrong" });
    await expect(wrong.isSuppressed("a@b.test")).rejects.toMatchObject({ code: "unauthorized", status: 401 });
  });

  it("record twice with one idempotencyKey → created then existing; get/timeline of an unknown id → null", async () => {
    const input = { to: address(), from: "a@acme.test", subject: "s", idempotencyKey: randomUUID() };
    const first = await mailstate.record(input);
    const second = await mailstate.record(input);
    expect([first.status, second.status]).toEqual(["created", "existing"]);
    expect(second.notification?.id).toBe(first.notification?.id);
    expect(await mailstate.get(randomUUID())).toBeNull();
    expect(await mailstate.timeline(randomUUID())).toBeNull();
  });

  it("suppress, isSuppressed, checkSuppressions, unsuppress → true, [suppressed, clean], then false", async () => {
    const blocked = address();
    const clean = address();
    await mailstate.suppress(blocked);
    expect(await mailstate.isSuppressed(blocked)).toBe(true);
    const statuses = await mailstate.checkSuppressions([blocked, clean]);
    expect(statuses.map((status) => [status.email, status.suppressed, status.reason])).toEqual([
      [blocked, true, "manual"],
      [clean, false, null],
    ]);
    expect(await mailstate.unsuppress(blocked)).toBe(true);
    expect(await mailstate.isSuppressed(blocked)).toBe(false);
    expect(await mailstate.unsuppress(blocked)).toBe(false);
  });
});
