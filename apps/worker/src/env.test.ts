import { EnvError } from "@mailstate/runtime";
import { describe, expect, it } from "vitest";
import { loadWorkerEnv } from "./env.ts";

describe("worker env", () => {
  it("applies the local defaults", () => {
    expect(loadWorkerEnv({})).toMatchObject({
      WORKER_CONCURRENCY: 256,
      WORKER_INBOX_FETCHERS: 4,
      WORKER_BATCH_SIZE: 100,
      WORKER_BATCH_WAIT_MS: 10,
      WORKER_BATCHES_IN_FLIGHT: 1,
      SOFT_BOUNCE_THRESHOLD: 3,
      QUEUE_PREFIX: "{mailstate}",
      ENGAGEMENT_PII_DAYS: 30,
    });
  });

  it("input: SOFT_BOUNCE_THRESHOLD=0, DATABASE_URL=mysql://x → EnvError naming both", () => {
    const run = () => loadWorkerEnv({ SOFT_BOUNCE_THRESHOLD: "0", DATABASE_URL: "mysql://x" });
    expect(run).toThrow(EnvError);
    expect(run).toThrow(/SOFT_BOUNCE_THRESHOLD:/);
    expect(run).toThrow(/DATABASE_URL: must be a postgresql:\/\/ URL/);
  });

  it("input: QUEUE_PREFIX=a:b → EnvError naming QUEUE_PREFIX", () => {
    expect(() => loadWorkerEnv({ QUEUE_PREFIX: "a:b" })).toThrow(/QUEUE_PREFIX:/);
  });

  it("input: WORKER_BATCH_SIZE=1e2, WORKER_CONCURRENCY=0x80 → EnvError naming both (not read as 100 and 128)", () => {
    const run = () => loadWorkerEnv({ WORKER_BATCH_SIZE: "1e2", WORKER_CONCURRENCY: "0x80" });
    expect(run).toThrow(/WORKER_BATCH_SIZE: must be a whole number from 1 to 1000, in plain decimal digits/);
    expect(run).toThrow(/WORKER_CONCURRENCY: must be a whole number from 1 to 1000/);
  });

  it("input: WORKER_INBOX_FETCHERS=0, 65 or two → EnvError naming it; unset → 4; 1 → 1", () => {
    for (const value of ["0", "65", "two"]) {
      expect(() => loadWorkerEnv({ WORKER_INBOX_FETCHERS: value })).toThrow(
        /WORKER_INBOX_FETCHERS: must be a whole number from 1 to 64/,
      );
    }
    expect(loadWorkerEnv({}).WORKER_INBOX_FETCHERS).toBe(4);
    expect(loadWorkerEnv({ WORKER_INBOX_FETCHERS: "1" }).WORKER_INBOX_FETCHERS).toBe(1);
  });

  it("input: ENGAGEMENT_PII_DAYS=abc, 3651, 0 or -1 → EnvError naming ENGAGEMENT_PII_DAYS; 7 → 7", () => {
    for (const value of ["abc", "3651", "0", "-1"]) {
      expect(() => loadWorkerEnv({ ENGAGEMENT_PII_DAYS: value })).toThrow(/ENGAGEMENT_PII_DAYS:/);
    }
    expect(loadWorkerEnv({ ENGAGEMENT_PII_DAYS: "7" }).ENGAGEMENT_PII_DAYS).toBe(7);
  });
});
