// The sweeper against the stand-in over HTTP: webhooks lost on the way (RESEND_STANDIN_LOSS_RATE's
// lossRate) leave notifications stuck; asking Resend (emails.get) heals them within a few sweeper
// intervals, a final notification is never asked about, and asking again appends nothing.
import { randomUUID } from "node:crypto";
import { type MailstateStack, mailstateSystem } from "@mailstate/api/testing";
import { ops } from "@mailstate/db";
import { addJobs, jobIdFor } from "@mailstate/queue";
import { createResendStandin, type ResendStandin } from "@mailstate/resend-standin";
import { createMailstate } from "@mailstate/sdk";
import {
  basicAuth,
  OPS_ENV,
  startStack,
  TEST_WEBHOOK_SECRET,
  waitForPlannedStates,
  waitForSweeperPasses,
  waitUntil,
} from "@mailstate/test-support";
import type { RunningWorkers } from "@mailstate/worker/testing";
import { Resend } from "resend";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let stack: MailstateStack;
let standin: ResendStandin;
let worker: RunningWorkers;
const SWEEPER_INTERVAL_MS = 1_000;

beforeAll(async () => {
  stack = await startStack("e2e_sweeper", mailstateSystem, { env: OPS_ENV });
  standin = await createResendStandin({
    webhook: {
      url: `${stack.baseUrl}/webhooks/resend`,
      secret: TEST_WEBHOOK_SECRET,
      rates: { bounce: 0.15, complaint: 0.1, fail: 0.05, pending: 0.1, delay: 0.2, open: 0.5, click: 0.3 },
      duplicateRate: 0.1,
      lossRate: 0.4,
      maxDelayMs: 50,
      lifecycleMs: 100,
      seed: 16,
    },
  });
  worker = await stack.startWorker({
    RESEND_API_KEY: "re_test_sweeper",
    RESEND_BASE_URL: standin.url,
    RESEND_API_RPS: "50",
    SWEEPER_INTERVAL_MS: String(SWEEPER_INTERVAL_MS),
    SWEEPER_STALE_AFTER_MS: "1000",
  });
});
afterAll(async () => {
  await standin?.close();
  await stack?.close();
});

const email = (to: string) => ({
  from: "Acme <hello@acme.test>",
  to,
  subject: "Your receipt",
  html: `<p>Thanks!</p><a href="https://acme.test/r/${randomUUID()}">View</a>`,
});

/** GET /emails/:id calls the stand-in answered for one email id so far. */
const pollsOf = (emailId: string) => standin.requests.filter((request) => request.path === `/emails/${emailId}`).length;

describe("the sweeper heals notifications whose webhooks were lost", () => {
  let emailIds: string[] = [];

  it("40 emails, 40% of webhooks lost → every notification reaches the stand-in's final state within a few intervals", async () => {
    const mailstate = createMailstate({ baseUrl: stack.baseUrl, apiKey: stack.apiKey });
    const resend = new Resend("re_test_sweeper", { baseUrl: standin.url });
    const results = await mailstate.sendBatch(
      resend,
      Array.from({ length: 40 }, (_, i) => email(`sweep${i}-${randomUUID()}@example.com`)),
    );
    emailIds = results.flatMap((result) => (result.status === "sent" ? [result.resendEmailId] : []));
    expect(emailIds).toHaveLength(40);
    await standin.idle(10_000);
    expect(standin.counters.lost).toBeGreaterThan(10);
    const planned = (id: string) => standin.webhooks?.plans.get(id)?.expectedState;
    // What the lost webhooks left behind: some notifications short of their final state.
    const before = await ops.statesByEmailId(stack.db, emailIds);
    expect(emailIds.filter((id) => before.get(id) !== planned(id)).length).toBeGreaterThan(0);

    // Stale after 1 s, swept every 1 s: a few intervals.
    await waitForPlannedStates(standin, emailIds, (ids) => ops.statesByEmailId(stack.db, ids), 8 * SWEEPER_INTERVAL_MS);
    const healed = await stack.sql.query<{ n: string }>(
      "SELECT count(*) AS n FROM delivery_events WHERE svix_id LIKE 'resend-api\\_%' AND payload->'mailstate'->>'source' = 'api'",
    );
    expect(Number(healed.rows[0]?.n)).toBeGreaterThan(0);
    // Counted once the heal is applied, a moment after the state it brought.
    const heals = await waitUntil(
      "a heal counted",
      async () =>
        Number(
          (await worker.metrics.registry.getSingleMetric("mailstate_sweeper_heals_total")?.get())?.values[0]?.value,
        ) || undefined,
      5_000,
    );
    expect(heals).toBeGreaterThan(0);
    // The timeline says which events were learned by asking.
    const healedRow = await stack.sql.query<{ notification_id: string }>(
      "SELECT notification_id FROM delivery_events WHERE svix_id LIKE 'resend-api\\_%' LIMIT 1",
    );
    const timeline = await stack.call("GET", `/v1/notifications/${healedRow.rows[0]?.notification_id}/timeline`);
    const sources = timeline.body.events.map((event: { svixId: string; source: string }) => [
      event.svixId.startsWith("resend-api_"),
      event.source,
    ]);
    expect(sources).toContainEqual([true, "api"]);
    expect(sources.filter(([learned, source]: [boolean, string]) => source !== (learned ? "api" : "webhook"))).toEqual(
      [],
    );
    // The notification keeps what Resend said; the support page shows it and marks the learned event.
    const id = healedRow.rows[0]?.notification_id;
    // The check is recorded on the notification after the event it appended is applied.
    let lastCheck: unknown;
    const resendCheck = await waitUntil(
      "the healing check recorded on the notification",
      async () => {
        lastCheck = (await stack.call("GET", `/v1/notifications/${id}`)).body.resendCheck;
        return (lastCheck as { outcome?: string } | null)?.outcome === "healed" ? lastCheck : undefined;
      },
      5_000,
      { detail: () => `last: ${JSON.stringify(lastCheck)}` },
    );
    expect(resendCheck).toMatchObject({
      outcome: "healed",
      appended: expect.stringMatching(/^email\./),
    });
    const page = await fetch(`${stack.baseUrl}/support/notifications/${id}`, {
      headers: { authorization: basicAuth() },
    });
    const html = await page.text();
    expect(html).toContain("Asked Resend");
    expect(html).toContain("Learned from Resend's API (emails.get)");
    // A healed bounce has no bounce type: it did not suppress by itself.
    const learnedBounces = await stack.sql.query<{ email: string }>(
      `SELECT s.email FROM suppressions s JOIN delivery_events e ON e.svix_id = s.source_event_id
        WHERE e.svix_id LIKE 'resend-api\\_%' AND e.type = 'email.bounced'`,
    );
    expect(learnedBounces.rows).toEqual([]);
    // No RESEND_AUDIENCE_ID and the default (inbound) suppression sync: nothing but reads went to Resend.
    expect(
      [...standin.routeCalls.keys()].filter((route) => !route.startsWith("GET ") && !route.startsWith("POST /emails")),
    ).toEqual([]);
  });

  it("a final notification is never polled again: 3 more intervals add no emails.get for it", async () => {
    const states = await ops.statesByEmailId(stack.db, emailIds);
    const final = emailIds.filter((id) =>
      ["bounced", "complained", "failed", "suppressed"].includes(states.get(id) ?? ""),
    );
    expect(final.length).toBeGreaterThan(0);
    const counts = final.map(pollsOf);
    await waitForSweeperPasses(stack.queues, 3, 10 * SWEEPER_INTERVAL_MS);
    expect(final.map(pollsOf)).toEqual(counts);
  });

  it("polling every notification twice more appends nothing to the log and changes no state", async () => {
    const countEvents = async () =>
      Number((await stack.sql.query<{ n: string }>("SELECT count(*) AS n FROM delivery_events")).rows[0]?.n);
    const eventsBefore = await countEvents();
    const statesBefore = await ops.statesByEmailId(stack.db, emailIds);
    const rows = await stack.db.notification.findMany({ where: { resendEmailId: { in: emailIds } } });
    const polledBefore = emailIds.reduce((sum, id) => sum + pollsOf(id), 0);
    for (const round of [1, 2]) {
      await addJobs(
        stack.queues,
        "resend.get-email",
        rows.map((row) => ({
          payload: { notificationId: row.id, emailId: row.resendEmailId ?? "" },
          jobId: `${jobIdFor("poll", row.id)}-again-${round}`,
        })),
      );
      await waitUntil(
        "the polls to be done",
        async () => (await stack.queues.resend.getJobCounts("waiting", "active", "delayed")).waiting === 0,
        10_000,
      );
    }
    await waitUntil(
      "no poll left",
      async () => {
        const counts = await stack.queues.resend.getJobCounts("waiting", "active", "delayed");
        return Object.values(counts).every((count) => count === 0);
      },
      10_000,
    );
    // Only the notifications that are not final were asked about.
    expect(emailIds.reduce((sum, id) => sum + pollsOf(id), 0)).toBeGreaterThan(polledBefore);
    expect(await countEvents()).toBe(eventsBefore);
    expect(await ops.statesByEmailId(stack.db, emailIds)).toEqual(statesBefore);
  });
});
