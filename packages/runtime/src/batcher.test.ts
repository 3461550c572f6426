import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MicroBatcher } from "./batcher.ts";

// The batcher is driven by its maxWaitMs timer: the tests run it on vitest's fake clock, so "not
// before maxWaitMs" and "at maxWaitMs" are exact, and no test sleeps.
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Move the fake clock on by `ms`, running the timers due and every promise callback they lead to. */
const tick = (ms = 5) => vi.advanceTimersByTimeAsync(ms);

/** A batch function that records the batches it was given and how many ran at once, and waits to be released. */
function recorder() {
  const batches: number[][] = [];
  let running = 0;
  let mostAtOnce = 0;
  const waiting: (() => void)[] = [];
  const run = async (items: number[]) => {
    batches.push(items);
    running += 1;
    mostAtOnce = Math.max(mostAtOnce, running);
    await new Promise<void>((resolve) => waiting.push(resolve));
    running -= 1;
    return items.map((item) => item * 10);
  };
  /** Release every batch, and the batches that start as they end, until none runs. */
  const releaseAll = async () => {
    while (waiting.length > 0 || running > 0) {
      for (const release of waiting.splice(0)) release();
      await tick(0);
    }
  };
  return { run, batches, releaseAll, mostAtOnce: () => mostAtOnce, runningNow: () => running };
}

describe("MicroBatcher", () => {
  it("input: 2 items, then 5 more while their batch runs (one batch at a time) → batches [1,2] then [3..7], never two at once", async () => {
    const r = recorder();
    const batcher = new MicroBatcher(r.run, { maxSize: 50, maxWaitMs: 1 });
    const first = [1, 2].map((item) => batcher.submit(item));
    await tick();
    expect(r.batches).toEqual([[1, 2]]);
    const more = [3, 4, 5, 6, 7].map((item) => batcher.submit(item));
    await tick();
    expect(r.batches).toHaveLength(1); // they wait for the running batch, not for a timer
    await r.releaseAll();
    expect(await Promise.all([...first, ...more])).toEqual([10, 20, 30, 40, 50, 60, 70]);
    expect(r.batches).toEqual([
      [1, 2],
      [3, 4, 5, 6, 7],
    ]);
    expect(r.mostAtOnce()).toBe(1);
  });

  it("input: 7 items at once, maxSize 3 → batches of 3, 3 and 1, one after the other", async () => {
    const r = recorder();
    const batcher = new MicroBatcher(r.run, { maxSize: 3, maxWaitMs: 1 });
    const results = [1, 2, 3, 4, 5, 6, 7].map((item) => batcher.submit(item));
    await tick();
    await r.releaseAll();
    expect(await Promise.all(results)).toEqual([10, 20, 30, 40, 50, 60, 70]);
    expect(r.batches).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
    expect(r.mostAtOnce()).toBe(1);
  });

  it("input: maxInFlight 2, maxSize 2, 6 items at once → at most 2 batches run at the same time, all 6 answered", async () => {
    const r = recorder();
    const batcher = new MicroBatcher(r.run, { maxSize: 2, maxWaitMs: 1, maxInFlight: 2 });
    const results = [1, 2, 3, 4, 5, 6].map((item) => batcher.submit(item));
    await tick();
    expect(r.runningNow()).toBe(2);
    await r.releaseAll();
    expect(await Promise.all(results)).toEqual([10, 20, 30, 40, 50, 60]);
    expect(r.mostAtOnce()).toBe(2);
  });

  it("input: a lone item on an idle batcher → runs after maxWaitMs, alone", async () => {
    const r = recorder();
    const batcher = new MicroBatcher(r.run, { maxSize: 50, maxWaitMs: 20 });
    const result = batcher.submit(1);
    await tick(19);
    expect(r.batches).toEqual([]);
    await tick(1);
    expect(r.batches).toEqual([[1]]);
    await r.releaseAll();
    expect(await result).toBe(10);
  });

  it("input: a batch of 4 in which item 3 fails → retried one by one: 1, 2 and 4 answered, 3 rejected with its error", async () => {
    const batches: number[][] = [];
    const batcher = new MicroBatcher(
      async (items: number[]) => {
        batches.push(items);
        if (items.includes(3)) throw new Error("item 3 is refused");
        return items.map((item) => item * 10);
      },
      { maxSize: 4, maxWaitMs: 1 },
    );
    const settled = Promise.allSettled([1, 2, 3, 4].map((item) => batcher.submit(item)));
    await tick(1);
    const results = await settled;
    expect(results.map((result) => (result.status === "fulfilled" ? result.value : result.reason.message))).toEqual([
      10,
      20,
      "item 3 is refused",
      40,
    ]);
    expect(batches).toEqual([[1, 2, 3, 4], [1], [2], [3], [4]]);
  });
});
