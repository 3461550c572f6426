// Calls to Resend's API, counted at the stand-in over HTTP: the resend queue's rate limiter holds
// them at RESEND_API_RPS across the worker, and a 429, a 500 and a timeout are retried with backoff.
import { randomUUID } from "node:crypto";
import { notificationSweep } from "@mailstate/db";
import { addJobs, jobIdFor } from "@mailstate/queue";
import { createResendStandin, type ResendStandin } from "@mailstate/resend-standin";
import { createHarness, waitUntil } from "@mailstate/test-support";
import { Resend } from "resend";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SWEEP_LIMIT } from "../src/resend/sweeper.ts";
import { recordNotification, type WorkerHarness, workerSystem } from "./testing.ts";

let harness: WorkerHarness;
let standin: ResendStandin;
let resend: Resend;

beforeAll(async () => {
  harness = await createHarness("resend_calls", workerSystem);
  standin = await createResendStandin();
  resend = new Resend("re_test_calls", { baseUrl: standin.url });
  await harness.startWorker({
    RESEND_API_KEY: "re_test_calls",
    RESEND_BASE_URL: standin.url,
    RESEND_API_RPS: "2",
    RESEND_API_TIMEOUT_MS: "500",
    // Nothing is stale for a day: only the polls the tests queue run.
    SWEEPER_STALE_AFTER_MS: "86400000",
  });
});
afterAll(async () => {
  await standin?.close();
  await harness?.close();
});

/** A notification recorded for an email the stand-in accepted (its last_event: sent). */
async function sentNotification() {
  const { data } = await resend.emails.send({
    from: "Acme <hello@acme.test>",
    to: "ada@example.com",
    subject: "Hi",
    text: "Hi",
  });
  const emailId = data?.id ?? "";
  const notification = await recordNotification(harness.sql, emailId);
  return { notificationId: notification.id, emailId };
}

const polls = () => standin.requests.filter((request) => request.route === "GET /emails/:id");

describe("the resend queue", () => {
  it("RESEND_API_RPS=2, 10 polls queued at once → the stand-in sees them at most 2 a second (10 take 4 s or more)", async () => {
    const sent = await Promise.all(Array.from({ length: 10 }, sentNotification));
    const before = polls().length;
    await addJobs(
      harness.queues,
      "resend.get-email",
      sent.map((payload) => ({ payload, jobId: jobIdFor("poll", payload.notificationId) })),
    );
    await waitUntil("10 polls at the stand-in", () => polls().length - before >= 10, 15_000);
    const times = polls()
      .slice(before)
      .map((request) => request.at);
    const first = times[0] ?? 0;
    // The limiter counts fixed windows of a second: the n-th call comes no sooner than ⌊n/2⌋ windows after the first.
    for (const [n, at] of times.entries()) expect(at - first).toBeGreaterThanOrEqual(Math.floor(n / 2) * 1_000 - 100);
    expect((times.at(-1) ?? 0) - first).toBeGreaterThanOrEqual(3_900);
    // And each was answered and kept on its notification.
    await waitUntil(
      "the checks recorded",
      async () => {
        const rows = await harness.db.notification.findMany({
          where: { id: { in: sent.map((item) => item.notificationId) } },
        });
        return rows.every((row) => row.state === "sent" && row.resendCheckedAt !== null);
      },
      5_000,
    );
  });

  it("a 429, then a 500, then no answer within RESEND_API_TIMEOUT_MS → retried after about 2, 4 and 8 s; the 4th call heals it", async () => {
    const { notificationId, emailId } = await sentNotification();
    standin.injectFault({ route: "GET /emails/:id", status: 429 });
    standin.injectFault({ route: "GET /emails/:id", status: 500 });
    standin.injectFault({ route: "GET /emails/:id", delayMs: 1_500 });
    const before = polls().length;
    await addJobs(harness.queues, "resend.get-email", [
      { payload: { notificationId, emailId }, jobId: jobIdFor("poll", notificationId) },
    ]);
    await waitUntil(
      "the notification healed to sent",
      async () => (await notificationSweep.stateOf(harness.sql, notificationId)) === "sent",
      30_000,
      { intervalMs: 200 },
    );
    const calls = polls().slice(before);
    expect(calls.map((call) => call.status)).toEqual([429, 500, 200, 200]);
    const gaps = calls.slice(1).map((call, i) => call.at - (calls[i]?.at ?? 0));
    expect(gaps[0]).toBeGreaterThanOrEqual(1_900);
    expect(gaps[1]).toBeGreaterThanOrEqual(3_900);
    // The held call was given up after 500 ms, then 8 s of backoff.
    expect(gaps[2]).toBeGreaterThanOrEqual(8_400);
    const row = await harness.db.notification.findUnique({ where: { id: notificationId } });
    expect(row?.resendCheck).toMatchObject({ outcome: "healed", lastEvent: "sent", appended: "email.sent" });
  }, 40_000);

  it("an email Resend does not know (404) → recorded on the notification, not retried", async () => {
    const notification = await recordNotification(harness.sql, "00000000-0000-4000-8000-000000000404");
    const before = polls().length;
    await addJobs(harness.queues, "resend.get-email", [
      {
        payload: { notificationId: notification.id, emailId: "00000000-0000-4000-8000-000000000404" },
        jobId: jobIdFor("poll", notification.id),
      },
    ]);
    const row = await waitUntil(
      "the 404 recorded",
      async () => {
        const found = await harness.db.notification.findUnique({ where: { id: notification.id } });
        return found?.resendCheckedAt ? found : undefined;
      },
      5_000,
    );
    expect(row.resendCheck).toMatchObject({ outcome: "not_found", lastEvent: null });
    expect(row.state).toBe("recorded");
    expect(polls().length - before).toBe(1);
  });

  it("which notifications a pass asks about: stale and not final; once asked and still stuck, not again until as long again has passed", async () => {
    const now = new Date("2030-01-01T12:00:00.000Z");
    const hoursAgo = (hours: number) => new Date(now.getTime() - hours * 3_600_000).toISOString();
    const make = async (state: string, lastEventHoursAgo: number, checkedHoursAgo: number | null) => {
      const row = await recordNotification(harness.sql, randomUUID());
      await harness.sql.query(
        `UPDATE notifications SET state = $2::"DeliveryState", state_changed_at = $3::timestamptz,
                resend_checked_at = $4::timestamptz WHERE id = $1::uuid`,
        [row.id, state, hoursAgo(lastEventHoursAgo), checkedHoursAgo === null ? null : hoursAgo(checkedHoursAgo)],
      );
      return row.id;
    };
    const staleSent = await make("sent", 7, null);
    const freshSent = await make("sent", 5, null);
    const bounced = await make("bounced", 48, null);
    // Last event 10 h ago, asked 4 h ago (when it was 6 h old): asked again only once 6 h have passed.
    const askedRecently = await make("delivered", 10, 4);
    // Last event 20 h ago, asked 12 h ago (8 h old then): 12 h ≥ 8 h, asked again.
    const askedLongAgo = await make("delivered", 20, 12);
    const candidates = await notificationSweep.sweepCandidates(harness.sql, {
      staleAfterMs: 6 * 3_600_000,
      now,
      limit: 1_000,
    });
    const ids = new Set(candidates.map((row) => row.id));
    expect([staleSent, freshSent, bounced, askedRecently, askedLongAgo].map((id) => ids.has(id))).toEqual([
      true,
      false,
      false,
      false,
      true,
    ]);
  });

  it("input: 1,001 stale sent notifications (the oldest of all) → one pass takes 1,000 of them, oldest first", async () => {
    expect(SWEEP_LIMIT).toBe(1_000);
    const { rows } = await harness.sql.query<{ id: string }>(
      `INSERT INTO notifications (resend_email_id, recipients, "from", subject, state, state_changed_at, updated_at)
       SELECT 're_limit_' || i, ARRAY['limit@example.com'], 'a@acme.test', 'limit', 'sent',
              '2000-01-01T00:00:00Z'::timestamptz + make_interval(secs => i), now()
         FROM generate_series(1, 1001) AS i
       RETURNING id::text AS id`,
    );
    expect(rows).toHaveLength(1_001);
    const candidates = await notificationSweep.sweepCandidates(harness.sql, {
      staleAfterMs: 6 * 3_600_000,
      limit: SWEEP_LIMIT,
    });
    expect(candidates).toHaveLength(1_000);
    expect(candidates.map((row) => row.resendEmailId)).toEqual(
      Array.from({ length: 1_000 }, (_, i) => `re_limit_${i + 1}`),
    );
    await harness.sql.query("DELETE FROM notifications WHERE resend_email_id LIKE 're_limit_%'");
  });
});
