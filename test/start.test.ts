// `pnpm start` end to end: the compiled apps (apps/*/dist, built by the global setup) come up on plain
// node, answer, and stop cleanly on SIGTERM, and on Ctrl-C through pnpm with exit 0.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createTestDatabase,
  freePort,
  spawnProcess,
  type TestDatabase,
  testQueuePrefix,
  testRedisUrl,
  waitForReady,
  waitUntil,
} from "@mailstate/test-support";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let database: TestDatabase;
const prefixes = {
  start: testQueuePrefix("start"),
  worker: testQueuePrefix("start-worker"),
  sigint: testQueuePrefix("start-sigint"),
};
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
      expect(await waitForReady(`http://127.0.0.1:${port}`)).toEqual({
        status: "ready",
        redis: "up",
        postgres: "up",
        inbox: "writable",
      });
    } finally {
      const code = await app.stop("SIGTERM");
      expect(code).toBe(0);
    }
    expect(app.output()).toMatch(/api exited \(0\)/);
    expect(app.output()).toMatch(/worker exited \(0\)/);
  });

  it("Ctrl-C on `pnpm start` (SIGINT to its process group, as a terminal sends it) → both drain, exit 0, no ELIFECYCLE", async () => {
    const port = await freePort();
    // A process group of its own, like a terminal's foreground job.
    const child = spawn("pnpm", ["start"], {
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        PORT: String(port),
        DATABASE_URL: database.url,
        REDIS_URL: testRedisUrl(),
        QUEUE_PREFIX: prefixes.sigint,
        RESEND_WEBHOOK_SECRET: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        LOG_LEVEL: "info",
      },
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    await waitUntil(
      "the API and the worker to be up",
      () => /api listening/.test(output) && /worker ready/.test(output),
      20_000,
    );
    process.kill(-(child.pid as number), "SIGINT");
    expect(await exited).toBe(0);
    expect(output).toMatch(/api exited \(0\)/);
    expect(output).toMatch(/worker exited \(0\)/);
    expect(output).not.toContain("ELIFECYCLE");
  });

  it("input: run-all.mjs where apps/*/dist is missing (not built) → exit 78 saying to run pnpm build", async () => {
    const empty = mkdtempSync(join(tmpdir(), "run-all-"));
    try {
      const run = spawn("node", [join(process.cwd(), "scripts/run-all.mjs")], {
        cwd: empty,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      run.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => run.on("exit", resolve));
      expect([code, output.trim()]).toEqual([
        78,
        "run-all: apps/api/dist/main.js, apps/worker/dist/main.js missing: run `pnpm build` first (pnpm bootstrap does)",
      ]);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
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

  it("WORKER_METRICS_PORT=<free port> → the worker serves GET /metrics (its event, lag and batch metrics, process metrics) and /healthz 200; other paths 404, POST 405", async () => {
    const metricsPort = await freePort();
    const worker = spawnProcess("node", ["scripts/run-all.mjs", "worker"], {
      ...process.env,
      DATABASE_URL: database.url,
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefixes.worker,
      WORKER_METRICS_PORT: String(metricsPort),
      LOG_LEVEL: "info",
    });
    try {
      await worker.waitFor(/worker ready/);
      expect(worker.output()).toContain(`"metricsPort":${metricsPort}`);
      const base = `http://127.0.0.1:${metricsPort}`;
      const metrics = await fetch(`${base}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get("content-type")).toMatch(/^text\/plain/);
      const body = await metrics.text();
      for (const name of [
        'mailstate_worker_events_total{outcome="applied"} 0',
        "mailstate_worker_event_lag_seconds_count 0",
        "mailstate_worker_batch_events_count 0",
        "mailstate_worker_process_cpu_seconds_total",
        "mailstate_sweeper_polls_total",
      ]) {
        expect(body).toContain(name);
      }
      const health = await fetch(`${base}/healthz`);
      expect([health.status, await health.json()]).toEqual([200, { status: "ok" }]);
      const other = await fetch(`${base}/admin/queues`);
      expect([other.status, await other.text()]).toEqual([404, "not found: this port serves /metrics and /healthz\n"]);
      expect((await fetch(`${base}/metrics`, { method: "POST" })).status).toBe(405);
    } finally {
      expect(await worker.stop("SIGTERM")).toBe(0);
    }
  });

  it("input: WORKER_METRICS_PORT on a port already taken → the worker exits 78 naming the variable", async () => {
    const { createServer } = await import("node:net");
    const taken = createServer();
    const port = await new Promise<number>((resolve) =>
      taken.listen(0, () => resolve((taken.address() as { port: number }).port)),
    );
    try {
      const worker = spawnProcess("node", ["scripts/run-all.mjs", "worker"], {
        ...process.env,
        DATABASE_URL: database.url,
        REDIS_URL: testRedisUrl(),
        QUEUE_PREFIX: prefixes.worker,
        WORKER_METRICS_PORT: String(port),
        LOG_LEVEL: "info",
      });
      await worker.waitFor(/worker exited/);
      expect(worker.output()).toContain(
        `WORKER_METRICS_PORT ${port} cannot be served: pick a free port, or 0 for none`,
      );
      expect(worker.output()).toContain("EADDRINUSE");
      expect(worker.output()).toMatch(/worker exited \(78\)/);
      await worker.stop("SIGTERM");
    } finally {
      taken.close();
    }
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
    const api = spawnProcess("node", ["apps/api/dist/main.js"], env);
    const code = await new Promise<number | null>((resolve) => api.child.on("exit", resolve));
    expect(code).toBe(78);
    expect(api.output()).toMatch(/RESEND_WEBHOOK_SECRET: is required/);
  });
});
