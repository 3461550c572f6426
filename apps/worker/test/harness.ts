// A real worker over a database and a queue prefix of its own, and helpers to feed and watch it.
import { randomUUID } from "node:crypto";
import { createDb, createSqlPool, type Db, notifications, type SqlPool } from "@mailstate/db";
import { addJob, createQueues, createRedis, jobIdFor, type Queues } from "@mailstate/queue";
import { type CommonEventOverrides, makeEvent, type ResendEventType } from "@mailstate/resend-events";
import { createLogger } from "@mailstate/runtime";
import {
  createTestDatabase,
  type TestDatabase,
  testQueuePrefix,
  testRedisUrl,
  waitForDrain,
} from "@mailstate/test-support";
import type { Redis } from "ioredis";
import { loadWorkerEnv } from "../src/env.ts";
import { type RunningWorkers, startWorkers } from "../src/workers.ts";

export interface Harness {
  db: Db;
  sql: SqlPool;
  database: TestDatabase;
  queues: Queues;
  prefix: string;
  /** A worker on the harness's database and prefix; `env` adds or overrides worker variables. */
  startWorker(env?: Record<string, string>): Promise<RunningWorkers>;
  /** Enqueue a webhook as the API does; answers its svix-id. */
  deliver(body: object, svixId?: string): Promise<string>;
  /** Wait until no inbox job is waiting, delayed or active. */
  drained(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function createHarness(label: string, { softBounceThreshold = 3 } = {}): Promise<Harness> {
  const database = await createTestDatabase(label);
  const db = createDb({ databaseUrl: database.url, poolSize: 4 });
  const sql = createSqlPool({ databaseUrl: database.url, poolSize: 8 });
  const prefix = testQueuePrefix(label);
  const producer = createRedis(testRedisUrl(), "worker");
  const queues = createQueues(producer, prefix);
  const running: { workers: RunningWorkers; redis: Redis }[] = [];

  return {
    db,
    sql,
    database,
    queues,
    prefix,
    async startWorker(env = {}) {
      const redis = createRedis(testRedisUrl(), "worker");
      const workers = await startWorkers({
        env: loadWorkerEnv({
          QUEUE_PREFIX: prefix,
          WORKER_CONCURRENCY: "16",
          SOFT_BOUNCE_THRESHOLD: String(softBounceThreshold),
          ...env,
        }),
        sql,
        redis,
        logger: createLogger("worker-test", "silent"),
      });
      running.push({ workers, redis });
      return workers;
    },
    async deliver(body, svixId = `msg_${randomUUID()}`) {
      // A fresh job id per delivery: this is Resend redelivering after the first job aged out.
      await addJob(
        queues,
        "inbox.reconcile",
        { svixId, receivedAt: new Date().toISOString(), event: body as Record<string, unknown> },
        `${jobIdFor("event", svixId)}-${randomUUID()}`,
      );
      return svixId;
    },
    drained: (timeoutMs = 15_000) => waitForDrain(queues.inbox, timeoutMs),
    async close() {
      for (const { workers, redis } of running) {
        await workers.close();
        redis.disconnect();
      }
      await queues.inbox.obliterate({ force: true });
      await queues.unmatched.obliterate({ force: true });
      await queues.maintenance.obliterate({ force: true });
      await queues.close();
      producer.disconnect();
      await db.$disconnect();
      await sql.end();
      await database.drop();
    },
  };
}

/** A Resend event for one email at a given second past 10:00, as Resend would post it. */
export function eventFor<T extends ResendEventType>(
  type: T,
  emailId: string,
  second: number,
  data: Record<string, unknown> = {},
  to = ["ada@example.com"],
) {
  const at = `2026-11-22T10:00:${String(second).padStart(2, "0")}.000Z`;
  return makeEvent(type, { created_at: at, data: { email_id: emailId, to, ...data } } as CommonEventOverrides);
}

export async function recordNotification(db: Db, resendEmailId: string | null, recipients = ["ada@example.com"]) {
  const { notification } = await notifications.record(db, {
    resendEmailId,
    recipients,
    from: "Acme <hello@acme.test>",
    subject: "Hello",
  });
  return notification;
}
