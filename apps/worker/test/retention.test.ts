// RETENTION_DAYS end to end: events applied by the worker, then backdated; the hourly maintenance
// job and `mailstate retention` remove what was recorded before the cutoff, keep the rest whole,
// and `rebuild` finds no drift afterwards.
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { rebuildHorizon, retentionCutoff } from "@mailstate/db";
import { addJob } from "@mailstate/queue";
import { makeEvent } from "@mailstate/resend-events";
import { createHarness, waitUntil } from "@mailstate/test-support";
import { QueueEvents } from "bullmq";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rebuildProjections, rebuildRollups } from "../src/reconcile/rebuild.ts";
import { registerRetentionGauges } from "../src/retention-metrics.ts";
import { recordNotification, runMailstate, type WorkerHarness, workerSystem } from "./testing.ts";

let h: WorkerHarness;
const target = (env: Record<string, string> = {}) => ({ databaseUrl: h.databaseUrl, prefix: h.prefix, env });

beforeAll(async () => {
  h = await createHarness("retention", workerSystem);
  await h.startWorker();
  // The schedules' first runs start at once; let them finish on the empty log so the runs below are the test's own.
  await waitUntil(
    "the scheduled maintenance jobs' first runs to complete",
    async () => ((await h.queues.maintenance.getJobCounts("completed")).completed ?? 0) >= 2,
    15_000,
    { intervalMs: 20 },
  );
});
afterAll(async () => {
  await h.close();
});

const DAY = 24 * 3_600_000;

/** A send with sent, delivered and an open, applied by the worker, then moved `days` days back. */
async function lifecycle(days: number): Promise<string> {
  const emailId = `re_ret_${randomUUID()}`;
  const notification = await recordNotification(h.sql, emailId, ["ret@example.com"]);
  const now = new Date().toISOString();
  for (const type of ["email.sent", "email.delivered", "email.opened"] as const)
    await h.deliver(makeEvent(type, { created_at: now, data: { email_id: emailId, to: ["ret@example.com"] } }));
  await h.drained();
  await waitUntil(
    "the open to be logged",
    async () =>
      (await h.sql.query("SELECT 1 FROM engagement_events WHERE notification_id = $1", [notification.id])).rowCount ===
      1,
    10_000,
  );
  const shift = `${days} days`;
  await h.sql.query("UPDATE notifications SET created_at = created_at - $2::interval WHERE id = $1", [
    notification.id,
    shift,
  ]);
  await h.sql.query("UPDATE delivery_events SET occurred_at = occurred_at - $2::interval WHERE notification_id = $1", [
    notification.id,
    shift,
  ]);
  await h.sql.query(
    "UPDATE engagement_events SET occurred_at = occurred_at - $2::interval WHERE notification_id = $1",
    [notification.id, shift],
  );
  return notification.id;
}

/** Delivery events of these notifications (an applied open is in engagement_events, not here). */
async function eventsOf(ids: string[]): Promise<number> {
  const { rows } = await h.sql.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM delivery_events WHERE notification_id = ANY($1::uuid[])",
    [ids],
  );
  return rows[0]?.n ?? 0;
}

async function counts() {
  const { rows } = await h.sql.query<Record<string, number>>(
    `SELECT (SELECT count(*)::int FROM notifications) AS notifications, (SELECT count(*)::int FROM delivery_events) AS events,
            (SELECT count(*)::int FROM engagement_events) AS engagement,
            (SELECT coalesce(sum(sent), 0)::int FROM reputation_hourly) AS rollup_sent,
            (SELECT count(*)::int FROM suppressions) AS suppressions`,
  );
  return rows[0] ?? {};
}

describe("retention", () => {
  it("2 sends 100 days old, 1 sent 5 days ago, RETENTION_DAYS 90: the maintenance.retention job (scheduled hourly) removes the old ones whole (2 notifications, their events, 2 opens) and keeps the new one; the rollups keep the old hours; rebuild reports 0 drift", async () => {
    const schedulers = await h.queues.maintenance.getJobSchedulers();
    expect(schedulers.map((s) => [s.key, s.every]).sort()).toEqual([
      ["maintenance.retention", 3_600_000],
      ["maintenance.scrub-engagement-pii", 3_600_000],
    ]);
    const old = [await lifecycle(100), await lifecycle(100)];
    const fresh = await lifecycle(5);
    await h.sql.query(
      "INSERT INTO suppressions (email, reason, created_at) VALUES ('ret-old@example.com', 'complaint', now() - interval '400 days')",
    );
    // The backdated sends' projections and rollups as the worker would have written them then: no drift before the pass.
    await rebuildProjections(h.db, h.sql, { write: true });
    await rebuildRollups(h.sql, { write: true });
    expect(await rebuildProjections(h.db, h.sql)).toMatchObject({ checked: 3, differed: 0 });
    const before = await counts();
    const oldEvents = await eventsOf(old);
    expect(oldEvents).toBeGreaterThanOrEqual(4);
    expect(before).toMatchObject({ notifications: 3, events: oldEvents * 1.5, engagement: 3, rollup_sent: 3 });

    const events = new QueueEvents(h.queues.maintenance.name, {
      connection: h.queues.maintenance.opts.connection,
      prefix: h.prefix,
    });
    try {
      await events.waitUntilReady();
      const job = await addJob(h.queues, "maintenance.retention", {}, `retention-${randomUUID()}`);
      expect(await job.waitUntilFinished(events, 20_000)).toMatchObject({
        cutoff: retentionCutoff(new Date(), 90).toISOString(),
        dryRun: false,
        removed: {
          notifications: 2,
          deliveryEvents: oldEvents,
          engagementEvents: 2,
          outboundMessages: 0,
          deadLetters: 0,
        },
      });
    } finally {
      await events.close();
    }
    const left = (await h.sql.query<{ id: string }>("SELECT id FROM notifications")).rows.map((row) => row.id);
    expect(left).toEqual([fresh]);
    // `stats` shows the worker's last pass, from the maintenance queue's completed jobs.
    const stats = JSON.parse((await runMailstate(target(), "stats", "--json")).stdout);
    expect(stats.retention.lastPass).toMatchObject({ removed: { notifications: 2, engagementEvents: 2 } });
    for (const id of old)
      expect((await h.sql.query("SELECT 1 FROM delivery_events WHERE notification_id = $1", [id])).rowCount).toBe(0);
    // The rollups and the suppression are kept for good.
    expect(await counts()).toEqual({ ...before, notifications: 1, events: oldEvents / 2, engagement: 1 });

    const since = await rebuildHorizon(h.sql, retentionCutoff(new Date(), 90));
    expect(await rebuildProjections(h.db, h.sql, { since })).toMatchObject({ checked: 1, differed: 0 });
    expect(await rebuildRollups(h.sql, { since })).toMatchObject({ differed: 0 });
    // `mailstate rebuild` (and its --write) leaves the old hours' rollups as they are.
    const rebuilt = await runMailstate(target(), "rebuild", "--write");
    expect(rebuilt.code).toBe(0);
    expect(rebuilt.stdout).toMatch(/checked 1 notifications .*: 0 differed/);
    expect((await counts()).rollup_sent).toBe(3);
  });

  it("mailstate retention --dry-run --json, then retention --json (RETENTION_DAYS 30): the same counts, the JSON object last; the dry run changes nothing; stats shows the oldest day kept", async () => {
    const old = await lifecycle(40);
    const before = await counts();
    const oldEvents = await eventsOf([old]);
    const dry = await runMailstate(target({ RETENTION_DAYS: "30" }), "retention", "--dry-run", "--json");
    expect(dry.code).toBe(0);
    const dryReport = JSON.parse(dry.stdout.trim().split("\n").at(-1) ?? "");
    expect(dryReport).toMatchObject({
      dryRun: true,
      removed: { notifications: 1, deliveryEvents: oldEvents, engagementEvents: 1 },
      partitionsDropped: [],
    });
    expect(await counts()).toEqual(before);

    const text = await runMailstate(target({ RETENTION_DAYS: "30" }), "stats");
    const oldestDay = new Date(Date.now() - 40 * DAY).toISOString().slice(0, 10);
    expect(text.stdout).toContain(`oldest day kept: ${oldestDay}`);

    const run = await runMailstate(target({ RETENTION_DAYS: "30" }), "retention", "--json");
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout.trim().split("\n").at(-1) ?? "");
    expect(report).toEqual({ ...dryReport, dryRun: false, partitions: report.partitions });
    expect((await h.sql.query("SELECT 1 FROM notifications WHERE id = $1", [old])).rowCount).toBe(0);

    const human = await runMailstate(target({ RETENTION_DAYS: "30" }), "retention");
    expect(human.stdout).toMatch(/cutoff .* \(RETENTION_DAYS 30\)/);
    expect(human.stdout).toMatch(/notifications\s+0/);
    const stats = JSON.parse((await runMailstate(target({ RETENTION_DAYS: "30" }), "stats", "--json")).stdout);
    expect(stats.retention).toMatchObject({
      days: 30,
      oldestDayKept: new Date(Date.now() - 5 * DAY).toISOString().slice(0, 10),
      // The send moved 5 days back has no day partition (the migration made them from yesterday on):
      // its sent and delivered, and its open, sit in the default partitions.
      defaultPartitionRows: { delivery_events: 2, engagement_events: 1 },
    });
  });

  it("/metrics: the oldest day kept (00:00 UTC, seconds), rows in the default partitions per table, and the last pass's removed rows per table", async () => {
    const registry = new Registry();
    const last = {
      cutoff: "2026-09-08T00:00:00.000Z",
      dryRun: false,
      removed: {
        notifications: 4,
        deliveryEvents: 9,
        engagementEvents: 2,
        outboundMessages: 1,
        deadLetters: 0,
        erasedEmails: 0,
      },
      partitionsDropped: ["delivery_events_p20260907"],
      partitions: { created: [], moved: 0 },
    };
    registerRetentionGauges(registry, h.sql, () => last);
    const text = await registry.metrics();
    const oldest = Date.parse(`${new Date(Date.now() - 5 * DAY).toISOString().slice(0, 10)}T00:00:00Z`) / 1_000;
    expect(text).toContain(`mailstate_retention_oldest_day_timestamp_seconds ${oldest}`);
    expect(text).toContain('mailstate_event_log_default_partition_rows{table="delivery_events"} 2');
    expect(text).toContain('mailstate_event_log_default_partition_rows{table="engagement_events"} 1');
    expect(text).toContain('mailstate_retention_last_pass_removed_rows{table="delivery_events"} 9');
    expect(text).toContain("mailstate_retention_last_pass_partitions_dropped 1");
  });

  it("input: RETENTION_DAYS=0, -5 or abc → `mailstate retention` exits 78 naming RETENTION_DAYS and removes nothing; RETENTION_DAYS=abc → the worker refuses to start (exit 78), naming it", async () => {
    const before = await counts();
    for (const value of ["0", "-5", "abc"]) {
      const run = await runMailstate(target({ RETENTION_DAYS: value }), "retention");
      expect(run.code).toBe(78);
      expect(run.stderr).toMatch(/RETENTION_DAYS: must be a whole number from 1 to 36500/);
    }
    expect(await counts()).toEqual(before);
    const worker = spawnSync(process.execPath, ["--import", "tsx", "apps/worker/src/main.ts"], {
      env: { ...process.env, RETENTION_DAYS: "abc" },
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(worker.status).toBe(78);
    expect(worker.stderr).toMatch(/RETENTION_DAYS: must be a whole number from 1 to 36500/);
  });
});
