// How inbox jobs become batches: several BullMQ workers (WORKER_INBOX_FETCHERS) take jobs in
// parallel and feed the same batches, one PostgreSQL transaction each, counted by the worker's
// mailstate_worker_batch_events histogram.
import { notifications } from "@mailstate/db";
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

    const states = await Promise.all(recorded.map(async (n) => (await notifications.findById(h.db, n.id))?.state));
    expect(states).toEqual(recorded.map(() => "delivered"));
    const sizes = await batchSizes(worker);
    expect(sizes.sum).toBe(40);
    // One fetcher alone holds at most 4 jobs: a batch of more than 5 took jobs from several.
    expect(sizes.atMost(5)).toBeLessThan(sizes.count);
    expect(sizes.count).toBeLessThan(40);
  });
});
