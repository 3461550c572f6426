// The runtime image's /app without a Docker engine: scripts/deploy-runtime.sh (the Dockerfile's deploy
// stage) into a directory of the test's own, then what the image's commands do there, on plain node
// with NODE_ENV=production: migrate a fresh database, serve the API and the worker, answer the CLI.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  basicAuth,
  databaseUrl,
  dropDatabase,
  freePort,
  OPS_PASSWORD,
  OPS_USERNAME,
  spawnProcess,
  TEST_WEBHOOK_SECRET,
  testQueuePrefix,
  testRedisUrl,
  waitForReady,
} from "@mailstate/test-support";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = mkdtempSync(join(tmpdir(), "mailstate-image-"));
const app = join(root, "app");
const database = `mailstate_test_image_${randomBytes(4).toString("hex")}`;
const prefix = testQueuePrefix("image");
const DEPLOYED = ["apps/api", "apps/worker", "packages/db"];

beforeAll(() => {
  const run = spawnSync("bash", ["scripts/deploy-runtime.sh", app], { encoding: "utf8", timeout: 240_000 });
  if (run.status !== 0)
    throw new Error(`deploy-runtime.sh failed (${run.status ?? run.signal}):\n${run.stdout}\n${run.stderr}`);
}, 300_000);

afterAll(async () => {
  rmSync(root, { recursive: true, force: true });
  await dropDatabase(database);
  const redis = new Redis(testRedisUrl());
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.unlink(...keys);
  redis.disconnect();
});

const env = (): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  NODE_ENV: "production",
  DATABASE_URL: databaseUrl(database),
  REDIS_URL: testRedisUrl(),
  QUEUE_PREFIX: prefix,
  RESEND_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
  OPS_USERNAME,
  OPS_PASSWORD,
  LOG_LEVEL: "info",
});

describe("the runtime image's /app (pnpm deploy --prod)", () => {
  it("holds the compiled apps, the Prisma CLI and production dependencies only: no vitest, playwright-core, Biome, TypeScript, tsx, esbuild or turbo", () => {
    expect(readdirSync(app).sort()).toEqual(["apps", "packages", "prisma"]);
    expect(readdirSync(join(app, "apps/api")).sort()).toEqual(["dist", "node_modules", "package.json"]);
    expect(readdirSync(join(app, "apps/worker")).sort()).toEqual(["dist", "node_modules", "package.json"]);
    const found: string[] = [];
    for (const dir of DEPLOYED) {
      for (const entry of readdirSync(join(app, dir, "node_modules/.pnpm"))) {
        if (
          /^(vitest|@vitest|playwright|@biomejs|typescript|tsx|esbuild|@esbuild|turbo|@prisma\+client)@/.test(entry)
        ) {
          found.push(`${dir}: ${entry}`);
        }
      }
    }
    expect(found).toEqual([]);
    expect(existsSync(join(app, "packages/db/node_modules/prisma/package.json"))).toBe(true);
    expect(existsSync(join(app, "apps/worker/dist/generated/client/query_compiler_bg.wasm"))).toBe(true);
    // Every file counted once per directory, as image layers store them: well under the old image's
    // full workspace install (its node_modules alone is several hundred MB). OpenTelemetry's SDK
    // (loaded only when tracing is on) adds about 12 MB to each app.
    const kb = Number(spawnSync("du", ["-sk", "--count-links", app], { encoding: "utf8" }).stdout.split("\t")[0]);
    expect(kb).toBeGreaterThan(50_000);
    expect(kb).toBeLessThan(350_000);
  });

  it("migrates a fresh database with the deployed Prisma CLI (node packages/db/scripts/prisma.mjs migrate deploy)", () => {
    const run = spawnSync(process.execPath, ["packages/db/scripts/prisma.mjs", "migrate", "deploy"], {
      cwd: app,
      env: env(),
      encoding: "utf8",
      timeout: 120_000,
    });
    expect({ status: run.status, stderr: run.stderr }).toMatchObject({ status: 0 });
    expect(run.stdout).toContain(`created database ${database}`);
    expect(run.stdout).toContain("All migrations have been successfully applied.");
  });

  it("the deployed API and worker answer /readyz ready, Bull Board and /healthz; the deployed CLI reads the queues; SIGTERM → exit 0", async () => {
    const [port, metricsPort] = [await freePort(), await freePort()];
    // Absolute paths: node resolves each bundle's packages from the deployed node_modules beside it.
    const api = spawnProcess(process.execPath, [join(app, "apps/api/dist/main.js")], { ...env(), PORT: String(port) });
    const worker = spawnProcess(process.execPath, [join(app, "apps/worker/dist/main.js")], {
      ...env(),
      WORKER_METRICS_PORT: String(metricsPort),
    });
    try {
      await Promise.all([api.waitFor(/api listening/), worker.waitFor(/worker ready/)]);
      expect(await waitForReady(`http://127.0.0.1:${port}`)).toEqual({
        status: "ready",
        redis: "up",
        postgres: "up",
        inbox: "writable",
      });
      const board = await fetch(`http://127.0.0.1:${port}/admin/queues`, { headers: { authorization: basicAuth() } });
      expect(board.status).toBe(200);
      const health = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
      expect(await health.json()).toEqual({ status: "ok" });
      const cli = spawnSync(process.execPath, ["apps/worker/dist/cli.js", "stats", "--json"], {
        cwd: app,
        env: env(),
        encoding: "utf8",
        timeout: 20_000,
      });
      expect({ status: cli.status, stderr: cli.stderr }).toEqual({ status: 0, stderr: "" });
      expect(JSON.parse(cli.stdout)).toMatchObject({ queuePrefix: prefix });
      // The image links it as /usr/local/bin/mailstate: it runs by itself, through its #! line.
      const direct = spawnSync(join(app, "apps/worker/dist/cli.js"), ["--help"], { env: env(), encoding: "utf8" });
      expect({ status: direct.status, usage: direct.stdout.split("\n")[0] }).toEqual({
        status: 0,
        usage: "usage: pnpm mailstate <command> [options]",
      });
    } finally {
      expect(await Promise.all([api.stop("SIGTERM"), worker.stop("SIGTERM")])).toEqual([0, 0]);
    }
  });
});
