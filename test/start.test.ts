// `pnpm start` end to end: both processes come up, answer, and stop cleanly on SIGTERM.
import {
  createTestDatabase,
  freePort,
  spawnProcess,
  type TestDatabase,
  testQueuePrefix,
  testRedisUrl,
} from "@mailstate/test-support";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let database: TestDatabase;
const prefixes = { start: testQueuePrefix("start"), worker: testQueuePrefix("start-worker") };
beforeAll(async () => {
  database = await createTestDatabase("start");
});
afterAll(async () => {
  await database.drop();
  // The workers leave their queues' meta keys behind; the test's prefixes are its own.
  const redis = new Redis(testRedisUrl());
  for (const prefix of Object.values(prefixes)) {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.unlink(...keys);
  }
  redis.disconnect();
});

describe("pnpm start", () => {
  it("serves GET /healthz 200, the worker logs ready, and SIGTERM stops both with exit 0", async () => {
    const port = await freePort();
    const app = spawnProcess("node", ["scripts/run-all.mjs"], {
      ...process.env,
      PORT: String(port),
      DATABASE_URL: database.url,
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefixes.start,
      RESEND_WEBHOOK_SECRET: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
      LOG_LEVEL: "info",
    });
    try {
      await app.waitFor(/api listening/);
      await app.waitFor(/worker ready/);
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: "ok" });
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(await ready.json()).toEqual({ status: "ready", redis: "up", postgres: "up", inbox: "writable" });
    } finally {
      const code = await app.stop("SIGTERM");
      expect(code).toBe(0);
    }
    expect(app.output()).toMatch(/api exited \(0\)/);
    expect(app.output()).toMatch(/worker exited \(0\)/);
  });

  it("pnpm start:worker (run-all.mjs worker) → the worker alone: ready, no API; SIGTERM → exit 0", async () => {
    const worker = spawnProcess("node", ["scripts/run-all.mjs", "worker"], {
      ...process.env,
      DATABASE_URL: database.url,
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefixes.worker,
      LOG_LEVEL: "info",
    });
    await worker.waitFor(/worker ready/);
    expect(await worker.stop("SIGTERM")).toBe(0);
    expect(worker.output()).not.toMatch(/api listening|\[run-all\] api/);
  });

  it("input: run-all.mjs apii → exit 64 naming the unknown app and the known ones", async () => {
    const run = spawnProcess("node", ["scripts/run-all.mjs", "apii"], process.env);
    const code = await new Promise<number | null>((resolve) => run.child.on("exit", resolve));
    expect(code).toBe(64);
    expect(run.output()).toContain("run-all: unknown app apii (expected: api, worker)");
  });

  it("input: RESEND_WEBHOOK_SECRET unset → the API refuses to start, naming the variable", async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(await freePort()) };
    delete env.RESEND_WEBHOOK_SECRET;
    const api = spawnProcess("node", ["--import", "tsx", "apps/api/src/main.ts"], env);
    const code = await new Promise<number | null>((resolve) => api.child.on("exit", resolve));
    expect(code).toBe(78);
    expect(api.output()).toMatch(/RESEND_WEBHOOK_SECRET: is required/);
  });
});
