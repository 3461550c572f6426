// ENGAGEMENT_PII_DAYS: opens and clicks lose their IP address and user agent after that many days,
// in the engagement log and in the raw webhook payload, by a scheduled job on the maintenance queue.
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { addJob } from "@mailstate/queue";
import { makeEvent } from "@mailstate/resend-events";
import { createHarness, waitUntil } from "@mailstate/test-support";
import { QueueEvents } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scrubExpiredEngagementPii } from "../src/maintenance.ts";
import { rebuildProjections } from "../src/reconcile/rebuild.ts";
import { recordNotification, type WorkerHarness, workerSystem } from "./testing.ts";

let h: WorkerHarness;
beforeAll(async () => {
  h = await createHarness("pii", workerSystem);
  // Two workers, as in production: still one schedule.
  await h.startWorker();
  await h.startWorker();
  // The schedule's first run starts at once; let it finish on the empty log so the runs below are the test's own.
  await waitUntil(
    "the scheduled scrub's first run to complete",
    async () => (await h.queues.maintenance.getJobCounts("completed")).completed !== 0,
    15_000,
    { intervalMs: 20 },
  );
});
afterAll(async () => {
  await h.close();
});

const DAY = 24 * 3_600_000;
const daysAgo = (days: number) => new Date(Date.now() - days * DAY).toISOString();

function click(emailId: string, createdAt: string, i: number) {
  return makeEvent("email.clicked", {
    created_at: createdAt,
    data: {
      email_id: emailId,
      to: ["pii@example.com"],
      click: {
        link: `https://acme.test/${i}`,
        timestamp: createdAt,
        ipAddress: `203.0.113.${i}`,
        userAgent: `UA ${i}`,
      },
    },
  });
}

interface Row {
  svix_id: string;
  ip_address: string | null;
  user_agent: string | null;
  link: string | null;
  click: Record<string, unknown> | null;
}

/**
 * Both tables, side by side: an applied click's engagement row, and a parked click's raw payload
 * (an applied click is in engagement_events only).
 */
async function rows(): Promise<Map<string, Row>> {
  const { rows } = await h.sql.query<Row>(
    `SELECT COALESCE(d.svix_id, g.svix_id) AS svix_id, g.ip_address, g.user_agent, g.link,
            d.payload #> '{data,click}' AS click
       FROM (SELECT * FROM delivery_events WHERE type = 'email.clicked') AS d
       FULL JOIN engagement_events AS g ON g.svix_id = d.svix_id
      ORDER BY 1`,
  );
  return new Map(rows.map((row) => [row.svix_id, row]));
}

describe("engagement PII retention", () => {
  it("3 clicks 40 days old, 2 clicks 5 days old, 1 old click parked (no notification) → with 30 days, in chunks of 2: the old ones lose IP and user agent (the applied in the engagement log, the parked in its raw payload; link kept), the new ones keep them; a second run changes nothing; rebuild still reports 0 drift", async () => {
    const emailId = `re_pii_${randomUUID()}`;
    await recordNotification(h.sql, emailId, ["pii@example.com"]);
    const old = [0, 1, 2].map((i) => ({ svixId: `msg_pii_old_${i}`, body: click(emailId, daysAgo(40), i) }));
    const fresh = [3, 4].map((i) => ({ svixId: `msg_pii_new_${i}`, body: click(emailId, daysAgo(5), i) }));
    const parked = { svixId: "msg_pii_parked", body: click(`re_nobody_${randomUUID()}`, daysAgo(45), 9) };
    for (const { svixId, body } of [...old, ...fresh, parked]) await h.deliver(body, svixId);
    await h.drained();

    const first = await scrubExpiredEngagementPii(h.sql, { days: 30, chunkSize: 2 });
    expect(first).toMatchObject({ engagementRows: 3, eventRows: 1 });
    const after = await rows();
    const parkedClick = after.get(parked.svixId)?.click;
    expect(parkedClick).toHaveProperty("link");
    expect(parkedClick).not.toHaveProperty("ipAddress");
    expect(parkedClick).not.toHaveProperty("userAgent");
    for (const { svixId } of old) {
      expect(after.get(svixId)).toMatchObject({
        ip_address: null,
        user_agent: null,
        link: expect.any(String),
        click: null,
      });
    }
    for (const { svixId } of fresh) {
      const i = svixId.at(-1);
      expect(after.get(svixId)).toMatchObject({ ip_address: `203.0.113.${i}`, user_agent: `UA ${i}`, click: null });
    }

    expect(await scrubExpiredEngagementPii(h.sql, { days: 30, chunkSize: 2 })).toMatchObject({
      engagementRows: 0,
      eventRows: 0,
    });
    expect(await rows()).toEqual(after);
    expect(await rebuildProjections(h.db, h.sql)).toMatchObject({ differed: 0 });
  });

  it("the worker schedules maintenance.scrub-engagement-pii hourly (once, with two workers; the first run at start) and runs it: a 31-day-old click loses its IP address", async () => {
    const schedulers = await h.queues.maintenance.getJobSchedulers();
    expect(schedulers.filter((s) => s.key === "maintenance.scrub-engagement-pii")).toEqual([
      expect.objectContaining({ key: "maintenance.scrub-engagement-pii", every: 3_600_000 }),
    ]);

    const emailId = `re_pii_job_${randomUUID()}`;
    await recordNotification(h.sql, emailId, ["pii@example.com"]);
    await h.deliver(click(emailId, daysAgo(31), 7), "msg_pii_job_old");
    await h.drained();
    expect((await rows()).get("msg_pii_job_old")).toMatchObject({ ip_address: "203.0.113.7" });

    const events = new QueueEvents(h.queues.maintenance.name, {
      connection: h.queues.maintenance.opts.connection,
      prefix: h.prefix,
    });
    try {
      await events.waitUntilReady();
      const job = await addJob(h.queues, "maintenance.scrub-engagement-pii", {}, `scrub-${randomUUID()}`);
      expect(await job.waitUntilFinished(events, 15_000)).toMatchObject({ engagementRows: 1, eventRows: 0 });
    } finally {
      await events.close();
    }
    expect((await rows()).get("msg_pii_job_old")).toMatchObject({ ip_address: null, user_agent: null });
  });

  it("input: ENGAGEMENT_PII_DAYS=0 → the worker refuses to start (exit 78), naming ENGAGEMENT_PII_DAYS", () => {
    const run = spawnSync(process.execPath, ["--import", "tsx", "apps/worker/src/main.ts"], {
      env: { ...process.env, ENGAGEMENT_PII_DAYS: "0" },
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(run.status).toBe(78);
    expect(run.stderr).toMatch(/ENGAGEMENT_PII_DAYS: must be a whole number from 1 to 3650/);
  });
});
