import { AsyncLocalStorage } from "node:async_hooks";
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

  it("input: maxInFlight 2, maxWaitMs 50; 3 items, then 1 more 2 ms after their batch went, which ends at once → the 4th waits its own 50 ms, not sent alone", async () => {
    // The API's inbox writer: a slot is free when the first write ends, but the webhook that came
    // meanwhile must wait for the ones that follow it, or half the jobs hold one webhook each.
    const r = recorder();
    const batcher = new MicroBatcher(r.run, { maxSize: 32, maxWaitMs: 50, maxInFlight: 2 });
    const first = [1, 2, 3].map((item) => batcher.submit(item));
    await tick(50);
    expect(r.batches).toEqual([[1, 2, 3]]);
    await tick(2);
    const fourth = batcher.submit(4);
    await r.releaseAll();
    expect(await Promise.all(first)).toEqual([10, 20, 30]);
    expect(r.batches).toEqual([[1, 2, 3]]); // the first batch ended; the 4th has waited 0 of its 50 ms
    await tick(30);
    const fifth = batcher.submit(5);
    await tick(19);
    expect(r.batches).toEqual([[1, 2, 3]]);
    await tick(1);
    expect(r.batches).toEqual([
      [1, 2, 3],
      [4, 5],
    ]); // 50 ms after the 4th came
    await r.releaseAll();
    expect(await Promise.all([fourth, fifth])).toEqual([40, 50]);
  });

  it("input: one batch at a time; an item comes while it runs, then the wall clock steps back an hour → the item goes at most maxWaitMs after the batch ends, not an hour later", async () => {
    const r = recorder();
    const batcher = new MicroBatcher(r.run, { maxSize: 32, maxWaitMs: 50 });
    const first = batcher.submit(1);
    await tick(50);
    expect(r.batches).toEqual([[1]]);
    const second = batcher.submit(2); // waits for the running batch, with no timer of its own
    vi.setSystemTime(Date.now() - 3_600_000);
    await r.releaseAll(); // the first batch ends: the second's wait is worked out now, on the stepped clock
    await tick(50);
    expect(r.batches).toEqual([[1], [2]]);
    await r.releaseAll();
    expect(await Promise.all([first, second])).toEqual([10, 20]);
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

  it("input: items submitted in async contexts a, b (batch 1, running), then c, d while it runs, then one that fails → batch 1 runs in a (its oldest item's), batch 2 in c (not in a, where the batch before it ended), each retried item in its own", async () => {
    const context = new AsyncLocalStorage<string>();
    const seen: string[] = [];
    const r = recorder();
    const batcher = new MicroBatcher(
      async (items: string[]) => {
        seen.push(`${items.join("")} in ${context.getStore() ?? "none"}`);
        if (items.length > 1 && items.includes("x")) throw new Error("x is refused");
        return r.run(items.map((item) => item.length));
      },
      { maxSize: 50, maxWaitMs: 1 },
    );
    const first = ["a", "b"].map((item) => context.run(item, () => batcher.submit(item)));
    await tick();
    const more = ["c", "d"].map((item) => context.run(item, () => batcher.submit(item)));
    await r.releaseAll(); // batch 1 ends; c and d wait out their maxWaitMs
    await tick();
    await r.releaseAll();
    await Promise.all([...first, ...more]);
    expect(seen).toEqual(["ab in a", "cd in c"]);
    seen.length = 0;
    const retried = ["x", "y"].map((item) => context.run(item, () => batcher.submit(item)));
    await tick();
    await r.releaseAll();
    await Promise.allSettled(retried);
    expect(seen).toEqual(["xy in x", "x in x", "y in y"]);
  });
});
