import { describe, expect, it } from "vitest";
import { backoffStrategy, CAPPED_EXPONENTIAL, JOBS, jobIdFor } from "./catalog.ts";

describe("job catalog", () => {
  it("inbox jobs back off 1, 2, 4, 8 s, then every 15 s for about 9 minutes, then every 5 minutes: they outlast a day's outage", () => {
    const job = { opts: JOBS["inbox.reconcile"].options };
    const delays = Array.from({ length: job.opts.attempts - 1 }, (_, i) =>
      backoffStrategy(i + 1, CAPPED_EXPONENTIAL, undefined, job),
    );
    expect(delays.slice(0, 6)).toEqual([1_000, 2_000, 4_000, 8_000, 15_000, 15_000]);
    const fast = delays.slice(0, 39);
    expect(fast.reduce((sum, delay) => sum + delay, 0)).toBeGreaterThan(8 * 60_000);
    expect(Math.max(...fast)).toBe(15_000);
    expect(new Set(delays.slice(39))).toEqual(new Set([300_000]));
    expect(delays.reduce((sum, delay) => sum + delay, 0)).toBeGreaterThan(24 * 3_600_000);
  });

  it("input: a backoff type it does not know → throws naming the type", () => {
    expect(() => backoffStrategy(1, "linear")).toThrow(/unknown backoff type linear/);
  });

  it("parked events are retried for longer than Resend's 28-hour window", () => {
    const { attempts, backoff, delay } = JOBS["unmatched.retry"].options;
    const retries = Array.from({ length: attempts - 1 }, (_, i) => backoff.delay * 2 ** i);
    expect(delay + retries.reduce((sum, next) => sum + next, 0)).toBeGreaterThan(28 * 3_600_000);
  });

  it("input: a svix-id with ':' and '%' → a job id without ':' that keeps ids distinct", () => {
    expect(jobIdFor("event", "msg:1%")).toBe("event-msg%3A1%25");
    expect(jobIdFor("event", "msg%3A1")).not.toBe(jobIdFor("event", "msg:1"));
  });

  it("calls to Resend back off 2, 4, 8 … s over 12 attempts: about an hour in all", () => {
    const { attempts, backoff } = JOBS["resend.get-email"].options;
    expect(attempts).toBe(12);
    const retries = Array.from({ length: attempts - 1 }, (_, i) => backoff.delay * 2 ** i);
    expect(retries.slice(0, 3)).toEqual([2_000, 4_000, 8_000]);
    const total = retries.reduce((sum, next) => sum + next, 0);
    expect(total).toBeGreaterThan(3_600_000);
    expect(total).toBeLessThan(2 * 3_600_000);
  });
});
