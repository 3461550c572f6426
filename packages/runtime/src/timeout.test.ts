import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { sharedReading, TimeoutError, withTimeout } from "./timeout.ts";

// Fake timers: the deadline is crossed by advancing the clock, not by waiting for it.
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("withTimeout", () => {
  it("input: work that settles before the deadline → its value, and no timer left behind", async () => {
    await expect(withTimeout(Promise.resolve(42), 1_000, "the answer")).resolves.toBe(42);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("input: work that rejects before the deadline → its own error, and no timer left behind", async () => {
    const failure = new Error("refused");
    await expect(withTimeout(Promise.reject(failure), 1_000, "a refusal")).rejects.toBe(failure);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("input: work still pending at the deadline → TimeoutError naming it, not a moment before", async () => {
    let settled = false;
    const outcome = withTimeout(new Promise<never>(() => {}), 500, "a write to Redis").then(
      () => "resolved",
      (error: unknown) => error,
    );
    void outcome.finally(() => {
      settled = true;
    });
    await vi.advanceTimersByTimeAsync(499);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(settled).toBe(true);
    const error = await outcome;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({
      name: "TimeoutError",
      what: "a write to Redis",
      timeoutMs: 500,
      message: "a write to Redis took longer than 500 ms",
    });
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe("sharedReading", () => {
  it("input: two callers while one read runs, then a third after it → one read for the first two, a fresh one for the third", async () => {
    let reads = 0;
    const read = sharedReading(async () => ++reads, 1_000, "a scrape");
    const [first, second] = await Promise.all([read(), read()]);
    expect([first, second, reads]).toEqual([1, 1, 1]);
    expect(await read()).toBe(2);
  });

  it("input: a read that rejects, then one that never answers (past 1000 ms) → undefined both times, never a throw", async () => {
    const failing = sharedReading(() => Promise.reject(new Error("PostgreSQL down")), 1_000, "a scrape");
    expect(await failing()).toBeUndefined();
    const hanging = sharedReading(() => new Promise<number>(() => {}), 1_000, "a scrape");
    const outcome = hanging();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await outcome).toBeUndefined();
  });
});
