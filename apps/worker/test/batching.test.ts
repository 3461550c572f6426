// How inbox jobs become batches: several BullMQ workers (WORKER_INBOX_FETCHERS) take jobs in
// parallel and feed the same batches, one PostgreSQL transaction each, counted by the worker's
// mailstate_worker_batch_events histogram.
import { notificationReads } from "@mailstate/db";
import { createHarness, eventFor } from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningWorkers, recordNotification, type WorkerHarness, workerSystem } from "./testing.ts";

let h: WorkerHarness;
beforeAll(async () => {
  h = await createHarness("batching", workerSystem);
});
afterAll(async () => {
  await h?.close();
});

/** The histogram's buckets as cumulative counts, with its total count and sum. */
async function batchSizes(worker: RunningWorkers) {
  const { values } = await worker.metrics.batchEvents.get();
  const find = (suffix: string, le?: number) =>
    values.find((v) => v.metricName?.endsWith(suffix) && (le === undefined || v.labels.le === le))?.value ?? 0;
  return { count: find("_count"), sum: find("_sum"), atMost: (le: number) => find("_bucket", le) };
}

describe("inbox fetchers", () => {
  it("input: 40 events at once, 4 fetchers of 4 jobs each (WORKER_CONCURRENCY=16), batches that wait 300 ms → all applied, in batches larger than one fetcher's 4", async () => {
    const worker = await h.startWorker({
      WORKER_INBOX_FETCHERS: "4",
      WORKER_CONCURRENCY: "16",
      WORKER_BATCH_WAIT_MS: "300",
    });
    expect(worker.inbox).toHaveLength(4);
    expect(worker.inbox.map((fetcher) => fetcher.concurrency)).toEqual([4, 4, 4, 4]);

    const recorded = await Promise.all(
      Array.from({ length: 40 }, (_, i) => recordNotification(h.sql, `re_fetch_${i}`)),
    );
    await Promise.all(recorded.map((_, i) => h.deliver(eventFor("email.delivered", `re_fetch_${i}`, 1))));
    await h.drained();

    const states = await Promise.all(recorded.map(async (n) => (await notificationReads.findById(h.db, n.id))?.state));
    expect(states).toEqual(recorded.map(() => "delivered"));
    const sizes = await batchSizes(worker);
    expect(sizes.sum).toBe(40);
    // One fetcher alone holds at most 4 jobs: a batch of more than 5 took jobs from several.
    expect(sizes.atMost(5)).toBeLessThan(sizes.count);
    expect(sizes.count).toBeLessThan(40);
    await worker.close();
  });

  it("input: 3 delivered events, one delivered twice, one of an unknown untagged email id → mailstate_worker_events_total counts applied 3, duplicate 1, unmatched 1, and the lag histogram holds all 5", async () => {
    const worker = await h.startWorker({ WORKER_BATCH_WAIT_MS: "50" });
    const recorded = await Promise.all(Array.from({ length: 3 }, (_, i) => recordNotification(h.sql, `re_count_${i}`)));
    const svixIds: string[] = [];
    for (let i = 0; i < 3; i++) svixIds.push(await h.deliver(eventFor("email.delivered", `re_count_${i}`, 1)));
    await h.drained();
    // The first event again, under a job id of its own: the log already holds its svix-id.
    await h.deliver(eventFor("email.delivered", "re_count_0", 1), svixIds[0]);
    await h.deliver(eventFor("email.delivered", "re_count_unknown", 1));
    await h.drained();
    expect(recorded).toHaveLength(3);

    const byOutcome = Object.fromEntries(
      (await worker.metrics.events.get()).values.map((v) => [v.labels.outcome, v.value]),
    );
    expect(byOutcome).toEqual({ applied: 3, duplicate: 1, unmatched: 1, ignored: 0, invalid: 0, erased: 0 });
    const lag = (await worker.metrics.eventLagSeconds.get()).values;
    expect(lag.find((v) => v.metricName?.endsWith("_count"))?.value).toBe(5);
    // Every event was applied within the test's own run: its lag is positive and under a minute.
    const sum = lag.find((v) => v.metricName?.endsWith("_sum"))?.value ?? -1;
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThan(5 * 60);
  });
});
