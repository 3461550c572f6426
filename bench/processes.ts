// The API and the worker as real processes, as `pnpm start` runs them, for the benchmarks.
import { type ChildProcess, spawn } from "node:child_process";
import type { Queues } from "@mailstate/queue";
import { dropDatabase } from "@mailstate/test-support";
import type { Redis } from "ioredis";
import type pg from "pg";

const children: ChildProcess[] = [];
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function startProcess(app: "api" | "worker", env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ["--import", "tsx", `apps/${app}/src/main.ts`], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  child.stdout?.resume();
  children.push(child);
  return child;
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

/** The end of a benchmark run: its processes stopped, its queues, connections and database gone. */
export async function tearDownRun(run: {
  queues: Queues;
  redis: Redis;
  pool: pg.Pool;
  database: string;
}): Promise<never> {
  // Stopped first: a worker finishing its jobs in hand would recreate keys after the obliterate.
  await stopProcesses();
  await run.queues.inbox.obliterate({ force: true }).catch(() => {});
  await run.queues.unmatched.obliterate({ force: true }).catch(() => {});
  await run.queues.close();
  run.redis.disconnect();
  await run.pool.end();
  await dropDatabase(run.database);
  process.exit(0);
}
