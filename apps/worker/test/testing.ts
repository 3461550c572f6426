// What tests elsewhere need of the worker (`@mailstate/worker/testing`): the test's connections to a
// database, the worker as the harness of @mailstate/test-support starts it (in this process, or its
// main.ts as a process), and the worker code that end-to-end and fault tests call directly.
import { fileURLToPath } from "node:url";
import { createDb, createSqlPool, type Db, notificationRecords, type SqlPool } from "@mailstate/db";
import { createRedis } from "@mailstate/queue";
import { createLogger } from "@mailstate/runtime";
import type { AppEntry, Closable, Harness, RunningApi } from "@mailstate/test-support";
import { loadWorkerEnv } from "../src/env.ts";
import { type RunningWorkers, startWorkers } from "../src/workers.ts";

export { runCli } from "../src/commands/run.ts";
export { decodeEvent } from "../src/reconcile/decode.ts";
export { rebuildProjections } from "../src/reconcile/rebuild.ts";
export type { RunningWorkers } from "../src/workers.ts";
export { type CliRun, runMailstate } from "./cli-run.ts";

export interface DbClients extends Closable {
  db: Db;
  sql: SqlPool;
}

/** The test's own connections: Prisma for the light queries, a pg pool for SQL (as the worker has). */
export function connect(databaseUrl: string, limits: { connectionTimeoutMs?: number } = {}): DbClients {
  const db = createDb({ databaseUrl, poolSize: 4, ...limits });
  const sql = createSqlPool({ databaseUrl, poolSize: 8, onError: () => {}, ...limits });
  return {
    db,
    sql,
    async close() {
      await db.$disconnect().catch(() => {});
      await sql.end().catch(() => {});
    },
  };
}

/** startWorkers on the harness's pools and a Redis connection of its own, as main.ts does. */
export const worker: AppEntry<DbClients, RunningWorkers> = {
  main: fileURLToPath(new URL("../src/main.ts", import.meta.url)),
  async start({ env, clients, logger }) {
    const parsed = loadWorkerEnv({ WORKER_CONCURRENCY: "16", ...env });
    const redis = createRedis(parsed, "worker");
    redis.on("error", () => {}); // tests stop Redis (or a cluster's master) on purpose; the worker reconnects
    const running = await startWorkers({
      env: parsed,
      sql: clients.sql,
      redis,
      logger: logger ?? createLogger("worker-test", "silent"),
    });
    return {
      ...running,
      async close() {
        await running.close();
        redis.disconnect();
      },
    };
  },
};

/** The worker on its own: what the worker's tests run. */
export const workerSystem = { connect, worker };

export type WorkerHarness = Harness<DbClients, RunningWorkers, RunningApi>;

/** A notification recorded as the API records one, for a Resend email id (or none yet). */
export async function recordNotification(sql: SqlPool, resendEmailId: string | null, recipients = ["ada@example.com"]) {
  const { notification } = await notificationRecords.record(sql, {
    resendEmailId,
    recipients,
    from: "Acme <hello@acme.test>",
    subject: "Hello",
  });
  return notification;
}
