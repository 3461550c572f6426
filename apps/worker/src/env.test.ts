import { EnvError } from "@mailstate/runtime";
import { describe, expect, it } from "vitest";
import { loadWorkerEnv } from "./env.ts";

describe("worker env", () => {
  it("applies the local defaults", () => {
    expect(loadWorkerEnv({})).toMatchObject({
      WORKER_CONCURRENCY: 256,
      WORKER_INBOX_FETCHERS: 4,
      WORKER_BATCH_SIZE: 100,
      WORKER_BATCH_WAIT_MS: 2,
      WORKER_BATCHES_IN_FLIGHT: 1,
      SOFT_BOUNCE_THRESHOLD: 3,
      QUEUE_PREFIX: "{mailstate}",
      ENGAGEMENT_PII_DAYS: 30,
      RETENTION_DAYS: 90,
    });
  });

  it("input: SOFT_BOUNCE_THRESHOLD=0, DATABASE_URL=mysql://x → EnvError naming both", () => {
    const run = () => loadWorkerEnv({ SOFT_BOUNCE_THRESHOLD: "0", DATABASE_URL: "mysql://x" });
    expect(run).toThrow(EnvError);
    expect(run).toThrow(/SOFT_BOUNCE_THRESHOLD:/);
    expect(run).toThrow(/DATABASE_URL: must be a postgresql:\/\/ URL/);
  });

  it("input: REDIS_CLUSTER_NODES and INBOX_SHARDS unset → one Redis, one shard; 10.0.0.1:7000, [::1]:7001 and 3 → two seed nodes, 3 shards", () => {
    const defaults = loadWorkerEnv({});
    expect([defaults.REDIS_CLUSTER_NODES, defaults.INBOX_SHARDS]).toEqual([undefined, 1]);
    expect(loadWorkerEnv({ REDIS_CLUSTER_NODES: "10.0.0.1:7000, [::1]:7001", INBOX_SHARDS: "3" })).toMatchObject({
      REDIS_CLUSTER_NODES: [
        { host: "10.0.0.1", port: 7000 },
        { host: "::1", port: 7001 },
      ],
      INBOX_SHARDS: 3,
    });
  });

  it("input: REDIS_CLUSTER_NODES=redis://a:1 or a:99999, INBOX_SHARDS=0 or 65 → EnvError naming each", () => {
    expect(() => loadWorkerEnv({ REDIS_CLUSTER_NODES: "redis://a:1" })).toThrow(
      /REDIS_CLUSTER_NODES: must be host:port separated by commas; "redis:\/\/a:1" is not host:port/,
    );
    expect(() => loadWorkerEnv({ REDIS_CLUSTER_NODES: "a:99999" })).toThrow(/REDIS_CLUSTER_NODES:/);
    expect(() => loadWorkerEnv({ INBOX_SHARDS: "0" })).toThrow(/INBOX_SHARDS: must be a whole number from 1 to 64/);
    expect(() => loadWorkerEnv({ INBOX_SHARDS: "65" })).toThrow(/INBOX_SHARDS:/);
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

  it("input: RETENTION_DAYS=0, -1, abc, 1e2 or 36501 → EnvError naming RETENTION_DAYS; unset → 90; 30 → 30", () => {
    for (const value of ["0", "-1", "abc", "1e2", "36501"]) {
      expect(() => loadWorkerEnv({ RETENTION_DAYS: value })).toThrow(
        /RETENTION_DAYS: must be a whole number from 1 to 36500, in plain decimal digits/,
      );
    }
    expect(loadWorkerEnv({}).RETENTION_DAYS).toBe(90);
    expect(loadWorkerEnv({ RETENTION_DAYS: "30" }).RETENTION_DAYS).toBe(30);
  });

  it("input: WORKER_METRICS_PORT=65536, -1 or http → EnvError naming it; unset → 9464; 0 → 0 (none)", () => {
    for (const value of ["65536", "-1", "http"]) {
      expect(() => loadWorkerEnv({ WORKER_METRICS_PORT: value })).toThrow(/WORKER_METRICS_PORT:/);
    }
    expect(loadWorkerEnv({}).WORKER_METRICS_PORT).toBe(9464);
    expect(loadWorkerEnv({ WORKER_METRICS_PORT: "0" }).WORKER_METRICS_PORT).toBe(0);
  });

  it("reconciling against Resend: the defaults (2 calls a second, every 5 minutes, stale after 6 hours), no key", () => {
    expect(loadWorkerEnv({})).toMatchObject({
      RESEND_API_RPS: 2,
      SWEEPER_INTERVAL_MS: 300_000,
      SWEEPER_STALE_AFTER_MS: 21_600_000,
      RESEND_API_TIMEOUT_MS: 10_000,
    });
    expect(loadWorkerEnv({}).RESEND_API_KEY).toBeUndefined();
  });

  it("input: RESEND_API_RPS=0, abc or 2.5 → EnvError naming RESEND_API_RPS; 5 → 5", () => {
    for (const value of ["0", "abc", "2.5", "-1"]) {
      expect(() => loadWorkerEnv({ RESEND_API_RPS: value })).toThrow(
        /RESEND_API_RPS: must be a whole number of calls a second from 1 to 100/,
      );
    }
    expect(loadWorkerEnv({ RESEND_API_RPS: "5" }).RESEND_API_RPS).toBe(5);
  });

  it("input: RESEND_SUPPRESSION_SYNC=sideways → EnvError naming it and its values", () => {
    expect(() => loadWorkerEnv({ RESEND_SUPPRESSION_SYNC: "sideways" })).toThrow(
      /RESEND_SUPPRESSION_SYNC: must be inbound, both or off/,
    );
  });

  it("input: SWEEPER_INTERVAL_MS=5m, SWEEPER_STALE_AFTER_MS=0, RESEND_BASE_URL=not a url → EnvError naming all three", () => {
    const run = () =>
      loadWorkerEnv({ SWEEPER_INTERVAL_MS: "5m", SWEEPER_STALE_AFTER_MS: "0", RESEND_BASE_URL: "not a url" });
    expect(run).toThrow(/SWEEPER_INTERVAL_MS:/);
    expect(run).toThrow(/SWEEPER_STALE_AFTER_MS:/);
    expect(run).toThrow(/RESEND_BASE_URL: must be a URL/);
  });

  it("input: RESEND_SUPPRESSION_SYNC=both, RESEND_WEBHOOK_ID, RESEND_AUDIENCE_ID without RESEND_API_KEY → EnvError naming each", () => {
    const run = () =>
      loadWorkerEnv({ RESEND_SUPPRESSION_SYNC: "both", RESEND_WEBHOOK_ID: "wh_1", RESEND_AUDIENCE_ID: "aud_1" });
    expect(run).toThrow(/RESEND_SUPPRESSION_SYNC: both \(removing from Resend's list\) needs RESEND_API_KEY/);
    expect(run).toThrow(/RESEND_WEBHOOK_ID: the webhook delivery audit needs RESEND_API_KEY/);
    expect(run).toThrow(/RESEND_AUDIENCE_ID: unsubscribing from the audience needs RESEND_API_KEY/);
    expect(loadWorkerEnv({ RESEND_SUPPRESSION_SYNC: "inbound" }).RESEND_SUPPRESSION_SYNC).toBe("inbound");
  });
});
