// What production runs: the API and the worker compiled to apps/*/dist (the global setup runs
// `pnpm build`), started with plain `node` and no loader, reconcile a signed webhook; the compiled ops
// CLI answers; and every metric the provisioned Grafana dashboard queries exists in their /metrics.
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import {
  createTestDatabase,
  deliverWebhook,
  freePort,
  resendEvent,
  type Spawned,
  spawnProcess,
  TEST_API_KEY,
  TEST_WEBHOOK_SECRET,
  type TestDatabase,
  testQueuePrefix,
  testRedisUrl,
  waitUntil,
} from "@mailstate/test-support";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const DASHBOARD = "deploy/grafana/dashboards/mailstate.json";
let database: TestDatabase;
const prefix = testQueuePrefix("production");
let api: Spawned;
let worker: Spawned;
let apiUrl = "";
let workerUrl = "";
let env: NodeJS.ProcessEnv = {};

beforeAll(async () => {
  database = await createTestDatabase("production");
  const [apiPort, metricsPort] = [await freePort(), await freePort()];
  apiUrl = `http://127.0.0.1:${apiPort}`;
  workerUrl = `http://127.0.0.1:${metricsPort}`;
  env = {
    PATH: process.env.PATH,
    DATABASE_URL: database.url,
    REDIS_URL: testRedisUrl(),
    QUEUE_PREFIX: prefix,
    RESEND_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    API_KEYS: TEST_API_KEY,
    NODE_ENV: "production",
    LOG_LEVEL: "info",
  };
  // Plain node, the compiled file and nothing else: no --import, no NODE_OPTIONS, as the image runs them.
  api = spawnProcess(process.execPath, ["apps/api/dist/main.js"], { ...env, PORT: String(apiPort) });
  worker = spawnProcess(process.execPath, ["apps/worker/dist/main.js"], {
    ...env,
    WORKER_METRICS_PORT: String(metricsPort),
  });
  await Promise.all([api.waitFor(/api listening/), worker.waitFor(/worker ready/)]);
});

afterAll(async () => {
  const codes = await Promise.all([api?.stop("SIGTERM"), worker?.stop("SIGTERM")]);
  await database?.drop();
  const redis = new Redis(testRedisUrl());
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.unlink(...keys);
  redis.disconnect();
  expect(codes).toEqual([0, 0]);
});

async function call(method: string, path: string, body?: unknown) {
  const response = await fetch(`${apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("the compiled apps on plain node", () => {
  it("the bundles load no TypeScript loader and import no workspace package at run time", () => {
    for (const file of ["apps/api/dist/main.js", "apps/worker/dist/main.js", "apps/worker/dist/cli.js"]) {
      const code = readFileSync(file, "utf8");
      expect({ file, tsx: code.includes('from "tsx') || code.includes("--import tsx") }).toEqual({ file, tsx: false });
      expect({ file, workspace: /from "@mailstate\//.test(code) }).toEqual({ file, workspace: false });
    }
  });

  it("records a send, takes its signed email.sent and email.delivered webhooks, and reconciles it to delivered", async () => {
    const to = `${randomUUID()}@production.test`;
    const emailId = randomUUID();
    const recorded = await call("POST", "/v1/notifications", {
      to: [to],
      from: "hello@acme.test",
      subject: "Welcome",
      resendEmailId: emailId,
    });
    expect(recorded.status).toBe(201);
    const id = (recorded.body.notification as { id: string }).id;
    await deliverWebhook(apiUrl, resendEvent("email.sent", emailId, 1, to));
    await deliverWebhook(apiUrl, resendEvent("email.delivered", emailId, 2, to));
    const state = await waitUntil(
      "the notification to be reconciled to delivered",
      async () => {
        const found = await call("GET", `/v1/notifications/${id}`);
        return found.body.state === "delivered" ? found.body.state : undefined;
      },
      15_000,
      { detail: async () => JSON.stringify((await call("GET", `/v1/notifications/${id}`)).body) },
    );
    expect(state).toBe("delivered");
    const metrics = await (await fetch(`${workerUrl}/metrics`)).text();
    expect(metrics).toContain('mailstate_worker_events_total{outcome="applied"} 2');
  });

  it("the compiled ops CLI (node apps/worker/dist/cli.js stats --json) reads the same database and queues", () => {
    const run = spawnSync(process.execPath, ["apps/worker/dist/cli.js", "stats", "--json"], {
      env,
      encoding: "utf8",
      timeout: 20_000,
    });
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: "" });
    const stats = JSON.parse(run.stdout) as { queuePrefix: string; notificationsByState: Record<string, number> };
    expect(stats.queuePrefix).toBe(prefix);
    expect(stats.notificationsByState).toMatchObject({ delivered: 1 });
  });

  it("input: the compiled API without RESEND_WEBHOOK_SECRET → exit 78 naming the variable", async () => {
    const { RESEND_WEBHOOK_SECRET: _unset, ...withoutSecret } = env;
    const bad = spawnProcess(process.execPath, ["apps/api/dist/main.js"], { ...withoutSecret, PORT: "0" });
    const code = await new Promise<number | null>((resolve) => bad.child.on("exit", resolve));
    expect(code).toBe(78);
    expect(bad.output()).toMatch(/RESEND_WEBHOOK_SECRET: is required/);
  });
});

/** Every metric name a PromQL expression of the dashboard reads (histogram series included). */
function dashboardMetrics(): { panels: string[]; metrics: Set<string> } {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as {
    panels: { title: string; type: string; targets?: { expr: string }[] }[];
  };
  const metrics = new Set<string>();
  const panels: string[] = [];
  for (const panel of dashboard.panels) {
    if (panel.type === "row") continue;
    panels.push(panel.title);
    for (const target of panel.targets ?? []) {
      for (const name of target.expr.match(/\bmailstate_[a-z0-9_]+/g) ?? []) metrics.add(name);
    }
  }
  return { panels, metrics };
}

describe(`the Grafana dashboard (${DASHBOARD})`, () => {
  it("parses, every panel queries the provisioned Prometheus datasource, and it covers ingest, outcomes, queues, lag, parked and dead letters", () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as {
      uid: string;
      panels: { type: string; datasource?: { uid: string }; targets?: { expr: string }[] }[];
    };
    const provisioned = readFileSync("deploy/grafana/provisioning/datasources/prometheus.yml", "utf8");
    const uid = /uid:\s*(\S+)/.exec(provisioned)?.[1];
    expect(uid).toBe("mailstate-prometheus");
    for (const panel of dashboard.panels.filter((p) => p.type !== "row")) {
      expect(panel.datasource?.uid).toBe(uid);
      expect(panel.targets?.length ?? 0).toBeGreaterThan(0);
    }
    const { metrics } = dashboardMetrics();
    for (const name of [
      "mailstate_webhooks_total",
      "mailstate_webhook_enqueue_seconds_bucket",
      "mailstate_queue_jobs",
      "mailstate_worker_events_total",
      "mailstate_worker_event_lag_seconds_bucket",
      "mailstate_dead_letters",
      "mailstate_invalid_events",
    ]) {
      expect(metrics).toContain(name);
    }
  });

  it("every metric its PromQL names exists in the /metrics output of a running API or worker", async () => {
    const exposed = new Set<string>();
    for (const url of [`${apiUrl}/metrics`, `${workerUrl}/metrics`]) {
      const text = await (await fetch(url)).text();
      for (const line of text.split("\n")) {
        // A sample's name, or a declared one (a labelled counter has no sample before its first inc).
        const name = /^(?:# TYPE )?([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line)?.[1];
        if (name) exposed.add(name);
      }
    }
    const { metrics } = dashboardMetrics();
    const missing = [...metrics].filter((name) => !exposed.has(name));
    expect(missing).toEqual([]);
  });
});
