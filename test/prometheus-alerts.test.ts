// deploy/prometheus/alerts.yml: promtool parses it and its unit tests pass (promtool missing is a
// failure, not a skip: .ci/run installs Debian's prometheus package for it), and every metric the
// rules name is served, with samples, by a real API or worker (its main.ts, WORKER_METRICS_PORT).
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type MailstateStack, mailstateSystem } from "@mailstate/api/testing";
import { freePort, startStack } from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const dir = fileURLToPath(new URL("../deploy/prometheus/", import.meta.url));

describe("promtool", () => {
  it("promtool check rules alerts.yml → SUCCESS: 9 rules found", async () => {
    const { stdout } = await run("promtool", ["check", "rules", "alerts.yml"], { cwd: dir });
    expect(stdout).toContain("SUCCESS: 9 rules found");
  });

  it("promtool test rules alerts.test.yml → SUCCESS (the bounce, complaint and dead-letter alerts fire as written; under the volume floor they stay quiet)", async () => {
    const { stdout } = await run("promtool", ["test", "rules", "alerts.test.yml"], { cwd: dir });
    expect(stdout).toContain("SUCCESS");
  });
});

describe("every metric the rules name is served", () => {
  let stack: MailstateStack;
  beforeAll(async () => {
    stack = await startStack("prom_alerts", mailstateSystem);
    // A tenant with sends this hour, so the per-tenant gauges have samples.
    await stack.sql.query(
      `INSERT INTO reputation_hourly (hour, tenant, category, from_domain, sent, delivered, hard_bounced, complained)
       VALUES (date_trunc('hour', now()), 'acme', 'news', 'acme.test', 100, 95, 5, 1)`,
    );
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
  });

  it("by the API's /metrics or the worker's (with samples, not only HELP lines); the worker's rates are read from the rollups", async () => {
    const rules = await readFile(`${dir}alerts.yml`, "utf8");
    const named = [...new Set(rules.match(/\bmailstate_[a-z_]+/g) ?? [])].sort();
    expect(named.length).toBeGreaterThanOrEqual(8);

    const metricsPort = await freePort();
    const worker = stack.spawnWorker({ WORKER_METRICS_PORT: String(metricsPort) });
    let workerBody: string;
    try {
      await worker.waitFor(/worker ready/);
      workerBody = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    } finally {
      await worker.stop("SIGTERM");
    }
    const apiBody = await (await fetch(`${stack.baseUrl}/metrics`)).text();
    const sampled = (body: string, name: string) => new RegExp(`^${name}(\\{[^}]*\\})? `, "m").test(body);
    const missing = named.filter((name) => !sampled(apiBody, name) && !sampled(workerBody, name));
    expect(missing, `named by the rules, served by neither: ${missing.join(", ")}`).toEqual([]);

    expect(workerBody).toContain('mailstate_reputation_bounce_rate{tenant="acme"} 0.05');
    expect(workerBody).toContain('mailstate_reputation_complaint_rate{tenant="acme"} 0.010526315789473684');
    expect(workerBody).toContain("mailstate_reputation_up 1");
    expect(workerBody).toMatch(/^mailstate_parked_oldest_age_seconds 0$/m);
  });
});
