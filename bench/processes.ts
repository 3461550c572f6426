// The API and the worker as real processes, as `pnpm start` runs them, for the benchmarks.
import { type ChildProcess, fork, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createQueues, createRedis, type Queues, type RedisClient } from "@mailstate/queue";
import { createMigratedDatabase, dropDatabase } from "@mailstate/test-support";
import pg from "pg";
import { BENCH_API_KEY, BENCH_SECRET } from "./load.ts";
import { type ProcessSet, parentOf } from "./proc-cpu.ts";

/** Read once here: the run's knob, not a build input. */
const env = process.env;
export const REDIS_URL = env.REDIS_URL ?? "redis://127.0.0.1:6379";

/** What one benchmark runs on: a migrated database and a queue prefix of its own, and the env of its processes. */
export interface BenchRun {
  database: string;
  databaseUrl: string;
  prefix: string;
  pool: pg.Pool;
  redis: RedisClient;
  queues: Queues;
  /** The environment the API and worker processes of this run start with, as production runs them. */
  env: Record<string, string>;
}

export async function openBenchRun(label: string, { poolSize = 2 } = {}): Promise<BenchRun> {
  const suffix = randomBytes(3).toString("hex");
  const database = `mailstate_bench_${label}_${suffix}`;
  const prefix = `{mailstate-bench-${label}-${suffix}}`;
  const databaseUrl = await createMigratedDatabase(database);
  const redis = createRedis(REDIS_URL, "worker");
  const pool = new pg.Pool({ connectionString: databaseUrl, max: poolSize });
  // closeRun drops the database WITH (FORCE): a client still closing then is told "terminating
  // connection due to administrator command", which must not end the benchmark (it did, once).
  pool.on("error", () => {});
  return {
    database,
    databaseUrl,
    prefix,
    pool,
    redis,
    queues: createQueues(redis, prefix),
    env: benchAppEnv({ DATABASE_URL: databaseUrl, REDIS_URL, QUEUE_PREFIX: prefix }),
  };
}

const children: ChildProcess[] = [];
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `nodeArgs` go to node before the script, e.g. `--cpu-prof` (which NODE_OPTIONS refuses). */
/** The environment of a benchmark's API and worker processes: `where` names their database, Redis and prefix. */
export function benchAppEnv(where: Record<string, string>): Record<string, string> {
  return {
    ...where,
    RESEND_WEBHOOK_SECRET: BENCH_SECRET,
    API_KEYS: BENCH_API_KEY,
    // Benchmarks measure throughput: one key at full speed would be held to API_RATE_LIMIT_RPS.
    API_RATE_LIMIT_RPS: "0",
    NODE_ENV: "production",
    HOST: "127.0.0.1",
    // A benchmark's worker may run beside another: it serves no /metrics port.
    WORKER_METRICS_PORT: "0",
    LOG_LEVEL: "warn",
  };
}

/** What `pnpm start` and the image give node (scripts/run-all.mjs, the Dockerfile's NODE_OPTIONS). */
const APP_NODE_FLAGS = ["--max-semi-space-size=8"];

export function startProcess(
  app: "api" | "worker",
  env: Record<string, string>,
  nodeArgs: string[] = [],
): ChildProcess {
  const child = spawn(
    process.execPath,
    [...APP_NODE_FLAGS, ...nodeArgs, "--import", "tsx", `apps/${app}/src/main.ts`],
    {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  child.stdout?.resume();
  children.push(child);
  return child;
}

/** Sends recorded straight into the table (not through the API), one per Resend email id: setup, not measured. */
export async function insertSends(pool: pg.Pool, emailIds: string[]): Promise<void> {
  await pool.query(
    `INSERT INTO notifications (resend_email_id, recipients, "from", subject, updated_at)
     SELECT id, ARRAY['bench@example.com'], 'bench@acme.test', 'bench', now() FROM unnest($1::text[]) AS id`,
    [emailIds],
  );
}

/** The designs bench/sync-server.ts serves (SYNC_DESIGN): the synchronous design and the tutorial peer of issue 27. */
export type SyncDesign = "sync" | "tutorial";

/**
 * `bench/sync-server.ts` as `design` on a free port, stopped with the rest. The tutorial peer's dedup
 * table is the bench's to make (it is no part of mailstate's schema), so it is created here first.
 */
export async function startSyncServer(
  databaseUrl: string,
  design: SyncDesign = "sync",
): Promise<{ port: number; child: ChildProcess }> {
  if (design === "tutorial") {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    await client.query("CREATE TABLE IF NOT EXISTS processed_events (svix_id text PRIMARY KEY)");
    await client.end();
  }
  const child = fork(new URL("./sync-server.ts", import.meta.url).pathname, [], {
    execArgv: ["--import", "tsx"],
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      RESEND_WEBHOOK_SECRET: BENCH_SECRET,
      API_KEY: BENCH_API_KEY,
      SYNC_DESIGN: design,
    },
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`${design} server exited ${code}`)));
    child.once("message", (message: { port: number }) => resolve({ port: message.port, child }));
  });
}

/** Until the API on `port` answers 200 on `path` (`/healthz`: serving; `/readyz`: could take a webhook). */
export async function waitHealthy(port: number, path: "/healthz" | "/readyz" = "/healthz"): Promise<void> {
  for (let i = 0; i < 300; i += 1) {
    const ok = await fetch(`http://127.0.0.1:${port}${path}`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`API on ${port} never answered ${path}`);
}

/** Rows in `table`: the events applied (mailstate's event_log, or the tutorial peer's processed_events). */
export async function appliedEvents(run: Pick<BenchRun, "pool">, table = "event_log"): Promise<number> {
  return Number((await run.pool.query(`SELECT count(*) FROM ${table}`)).rows[0]?.count ?? 0);
}

/**
 * Until `count` events are applied and, with `queue` (mailstate), the inbox holds no job waiting or
 * active; five minutes at most. Answers how long it took.
 */
export async function waitApplied(
  run: Pick<BenchRun, "pool" | "queues">,
  count: number,
  { table = "event_log", queue = true }: { table?: string; queue?: boolean } = {},
): Promise<number> {
  const started = Date.now();
  for (;;) {
    const applied = await appliedEvents(run, table);
    const pending = queue ? await run.queues.inbox.count() : 0;
    const active = queue ? await run.queues.inbox.getActiveCount() : 0;
    if (applied >= count && pending + active === 0) return Date.now() - started;
    if (Date.now() - started > 300_000) throw new Error(`only ${applied} of ${count} events applied`);
    await sleep(200);
  }
}

/** The box's shared servers: Redis (its own pid, from INFO) and PostgreSQL (the postmaster and every backend). */
export async function sharedServers(run: Pick<BenchRun, "redis" | "pool">): Promise<ProcessSet> {
  const redisPid = Number(/process_id:(\d+)/.exec(await run.redis.info("server"))?.[1]);
  const backend = (await run.pool.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]?.pid ?? 0;
  return { redis: { pid: redisPid }, postgres: { pid: parentOf(backend), children: true } };
}

/**
 * An OTLP/HTTP endpoint that answers 200 to every export and keeps nothing; its base URL. The traced
 * variants of the benchmarks export to it: a collector's own CPU is not the system's.
 */
export async function otlpSink(): Promise<string> {
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(200, { "content-type": "application/x-protobuf" }).end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  server.unref();
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** SIGTERM every process started here, and wait for each to exit. */
export async function stopProcesses(): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once("exit", () => resolve());
          child.kill("SIGTERM");
        }),
    ),
  );
}

/** A run's queues, connections and database gone (its processes must be stopped first). */
export async function closeRun(run: Pick<BenchRun, "queues" | "redis" | "pool" | "database">): Promise<void> {
  await run.queues.inbox.obliterate({ force: true }).catch(() => {});
  await run.queues.unmatched.obliterate({ force: true }).catch(() => {});
  await run.queues.close();
  run.redis.disconnect();
  await run.pool.end();
  await dropDatabase(run.database);
}

/** The end of a benchmark run: its processes stopped, its queues, connections and database gone. */
export async function tearDownRun(run: Pick<BenchRun, "queues" | "redis" | "pool" | "database">): Promise<never> {
  // Stopped first: a worker finishing its jobs in hand would recreate keys after the obliterate.
  await stopProcesses();
  await closeRun(run);
  process.exit(); // with process.exitCode, 0 unless the run set it
}
