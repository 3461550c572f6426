// The real API (createApp) on an ephemeral port over a database and queue prefix of its own,
// optionally with an in-process worker: what the /v1 and end-to-end tests run against.
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createDb, createSqlPool, type Db } from "@mailstate/db";
import { createQueues, createRedis, type Queues } from "@mailstate/queue";
import { createLogger } from "@mailstate/runtime";
import {
  createTestDatabase,
  type TestDatabase,
  testQueuePrefix,
  testRedisUrl,
  waitForDrain,
} from "@mailstate/test-support";
import type { Redis } from "ioredis";
import { createApp } from "../../apps/api/src/app.ts";
import { loadApiEnv } from "../../apps/api/src/env.ts";
import { loadWorkerEnv } from "../../apps/worker/src/env.ts";
import { type RunningWorkers, startWorkers } from "../../apps/worker/src/workers.ts";
import { TEST_WEBHOOK_SECRET } from "./webhooks.ts";

export const TEST_API_KEY = "msk_test_0123456789abcdef0123456789abcdef";
export { TEST_WEBHOOK_SECRET };

export interface Stack {
  baseUrl: string;
  apiKey: string;
  db: Db;
  queues: Queues;
  database: TestDatabase | null;
  /** fetch against the API with the test key (or the given headers). */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Answer>;
  startWorker(): Promise<RunningWorkers>;
  /** Until no inbox job is waiting, active or delayed. */
  drained(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface Answer {
  status: number;
  contentType: string;
  // biome-ignore lint/suspicious/noExplicitAny: test assertions read arbitrary JSON
  body: any;
}

export interface StackOptions {
  /** Use this database URL instead of a fresh test database (the outage test points it at nothing). */
  databaseUrl?: string;
  env?: Record<string, string>;
}

export async function startStack(label: string, options: StackOptions = {}): Promise<Stack> {
  const database = options.databaseUrl ? null : await createTestDatabase(label);
  const databaseUrl = options.databaseUrl ?? database?.url ?? "";
  const prefix = testQueuePrefix(label);
  const env = loadApiEnv({
    DATABASE_URL: databaseUrl,
    REDIS_URL: testRedisUrl(),
    QUEUE_PREFIX: prefix,
    RESEND_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    API_KEYS: `${TEST_API_KEY},msk_test_second_key_0000000000`,
    LOG_LEVEL: "silent",
    ...options.env,
  });
  const db = createDb({ databaseUrl, poolSize: 4 });
  const redis = createRedis(env.REDIS_URL, "producer");
  redis.on("error", () => {});
  const queues = createQueues(redis, prefix);
  const logger = createLogger("api-test", "silent");
  const app = createApp({ env, db, redis, queues, logger });
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, "127.0.0.1", () => resolve(listening));
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const workers: { running: RunningWorkers; redis: Redis; sql: ReturnType<typeof createSqlPool> }[] = [];

  return {
    baseUrl,
    apiKey: TEST_API_KEY,
    db,
    queues,
    database,
    async call(method, path, body, headers = { authorization: `Bearer ${TEST_API_KEY}` }) {
      const response = await fetch(`${baseUrl}${path}`, {
        method,
        headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
        ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
      });
      const text = await response.text();
      return {
        status: response.status,
        contentType: response.headers.get("content-type") ?? "",
        body: text ? JSON.parse(text) : undefined,
      };
    },
    async startWorker() {
      const workerRedis = createRedis(testRedisUrl(), "worker");
      const sql = createSqlPool({ databaseUrl, poolSize: 4 });
      const running = await startWorkers({
        env: loadWorkerEnv({ QUEUE_PREFIX: prefix, DATABASE_URL: databaseUrl, WORKER_CONCURRENCY: "8" }),
        sql,
        redis: workerRedis,
        logger: createLogger("worker-test", "silent"),
      });
      workers.push({ running, redis: workerRedis, sql });
      return running;
    },
    drained: (timeoutMs = 15_000) => waitForDrain(queues.inbox, timeoutMs),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      for (const worker of workers) {
        await worker.running.close();
        worker.redis.disconnect();
        await worker.sql.end();
      }
      if (redis.status === "ready") {
        await queues.inbox.obliterate({ force: true });
        await queues.unmatched.obliterate({ force: true });
        await queues.maintenance.obliterate({ force: true });
      }
      await queues.close();
      redis.disconnect();
      await db.$disconnect();
      await database?.drop();
    },
  };
}
