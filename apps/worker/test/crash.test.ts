// The worker process killed with SIGKILL in the middle of a batch, then restarted: every event is
// applied exactly once.
import { engagement, events, notificationReads, notificationRecords } from "@mailstate/db";
import { createHarness, makeWorkload, waitUntil } from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rebuildProjections } from "../src/reconcile/rebuild.ts";
import { type WorkerHarness, workerSystem } from "./testing.ts";

let h: WorkerHarness;
beforeAll(async () => {
  h = await createHarness("crash", workerSystem);
});
afterAll(async () => {
  await h.close();
});

const startWorkerProcess = () => h.spawnWorker({ WORKER_LOCK_DURATION_MS: "3000" });
/** Events in the log, wherever each lives (an applied open is in engagement_events). */
const loggedEvents = async () =>
  Number((await h.sql.query<{ n: string }>("SELECT count(*) AS n FROM event_log")).rows[0]?.n ?? 0);

describe("a worker killed with SIGKILL mid-batch", () => {
  it("loses nothing and applies nothing twice after a restart", async () => {
    const workload = makeWorkload({ notifications: 100, eventsPerNotification: 20, label: "crash" });
    for (const { emailId, recipients } of workload.notifications) {
      await notificationRecords.record(h.sql, {
        resendEmailId: emailId,
        recipients,
        from: "a@acme.test",
        subject: "s",
      });
    }
    await h.deliverAll(workload.events);

    const first = startWorkerProcess();
    await first.waitFor(/worker ready/);
    await waitUntil("the first worker to log 300 events", async () => (await loggedEvents()) >= 300, 30_000, {
      intervalMs: 5,
    });
    await first.stop("SIGKILL");
    const loggedAtKill = await loggedEvents();
    expect(loggedAtKill).toBeLessThan(workload.events.length);

    const second = startWorkerProcess();
    try {
      await h.drained(60_000, second);
    } finally {
      expect(await second.stop("SIGTERM")).toBe(0);
    }

    expect(await loggedEvents()).toBe(workload.events.length);
    expect(await h.queues.inbox.getJobCounts("failed")).toEqual({ failed: 0 });
    let opens = 0;
    for (const [emailId, expected] of workload.expected) {
      const row = await notificationReads.findByResendEmailId(h.db, emailId);
      expect({ emailId, state: row?.state, opens: row?.openCount }).toEqual({
        emailId,
        state: expected.state,
        opens: expected.opens,
      });
      opens += expected.opens;
      if (row) expect(await engagement.listForNotification(h.db, row.id)).toHaveLength(expected.opens);
    }
    expect(await h.db.engagementEvent.count()).toBe(opens);
    expect(await events.countByStatus(h.db, "unmatched")).toBe(0);
    expect(await rebuildProjections(h.db, h.sql)).toMatchObject({ differed: 0 });
  }, 120_000);
});
