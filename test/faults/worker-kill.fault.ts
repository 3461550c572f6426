// The worker process SIGKILLed every 2–5 s while events flow into the inbox: nothing lost, nothing
// applied twice, no job left failed.

import { type Spawned, waitUntil } from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkOutcome,
  type FaultStack,
  faultWorkload,
  healthy,
  loggedCount,
  outcomeFigures,
  recordNotifications,
  report,
  scaled,
  sleep,
  startFaultStack,
} from "./fault-stack.ts";

const EVENTS = scaled(10_000, 3_000);
const RATE = scaled(400, 200); // events per second into the inbox

let stack: FaultStack;
beforeAll(async () => {
  stack = await startFaultStack("kill");
});
afterAll(async () => {
  await stack?.close();
});

describe("the worker SIGKILLed every 2–5 s while events flow", () => {
  it("loses no event, applies none twice, and leaves no job failed", async () => {
    const workload = faultWorkload(EVENTS, "kill");
    await recordNotifications(stack.db, workload);

    let feeding = true;
    let feedSeconds = 0;
    const started = Date.now();
    const feed = (async () => {
      const perTick = Math.max(1, Math.round(RATE / 10));
      for (let i = 0; i < workload.events.length; i += perTick) {
        await stack.deliverAll(workload.events.slice(i, i + perTick));
        const due = started + ((i + perTick) / RATE) * 1_000;
        await sleep(Math.max(0, due - Date.now()));
      }
      feeding = false;
      feedSeconds = (Date.now() - started) / 1_000;
    })();

    // Kill on a 2–5 s rhythm for as long as events are still arriving or waiting.
    let worker: Spawned = stack.spawnWorker();
    let kills = 0;
    let killsAfterFeed = 0;
    const loggedAtKills: number[] = [];
    await waitUntil(
      "the feed to end and the inbox to drain, with the worker killed every 2–5 s",
      async () => {
        await sleep(2_000 + Math.random() * 3_000);
        const counts = await stack.queues.inbox.getJobCounts("waiting", "active", "delayed");
        const backlog = Object.values(counts).reduce((sum, count) => sum + count, 0);
        // Once everything is in, two more kills at most: then the last worker drains in peace.
        if (!feeding && (backlog === 0 || killsAfterFeed >= 2)) return true;
        await worker.stop("SIGKILL");
        kills += 1;
        if (!feeding) killsAfterFeed += 1;
        loggedAtKills.push(await loggedCount(stack.sql));
        worker = stack.spawnWorker();
        return false;
      },
      300_000,
      { intervalMs: 0 },
    );
    await feed;
    const killPhaseSeconds = (Date.now() - started) / 1_000;

    // The last worker runs in peace: whatever an earlier one held comes back when its lock lapses.
    const drainMs = await stack.drained(120_000, worker);
    const outcome = await checkOutcome(stack, workload);
    report("worker-kill", {
      events: workload.events.length,
      kills,
      rate_per_s: RATE,
      feed_seconds: feedSeconds.toFixed(1),
      kill_phase_seconds: killPhaseSeconds.toFixed(1),
      drain_after_ms: drainMs,
      total_seconds: ((Date.now() - started) / 1_000).toFixed(1),
      ...outcomeFigures(outcome),
    });
    await worker.stop("SIGTERM");

    expect(kills).toBeGreaterThanOrEqual(scaled(4, 2));
    // The kills landed while work was in hand, not after it was all done.
    expect(loggedAtKills.filter((logged) => logged < workload.events.length).length).toBeGreaterThan(0);
    expect(outcome).toEqual(healthy(workload));
  }, 600_000);
});
