// One BullMQ worker per queue, each dispatching by job name to the handlers of the catalog.
import type { Db } from "@mailstate/db";
import { QUEUE_NAMES } from "@mailstate/queue";
import type { Logger } from "@mailstate/runtime";
import { type Processor, Worker } from "bullmq";
import type { Redis } from "ioredis";
import type { WorkerEnv } from "./env.ts";

export interface WorkerDeps {
  env: WorkerEnv;
  db: Db;
  redis: Redis;
  logger: Logger;
}

export interface RunningWorkers {
  inbox: Worker;
  unmatched: Worker;
  close(): Promise<void>;
}

export async function startWorkers(deps: WorkerDeps, processor?: Processor): Promise<RunningWorkers> {
  const process: Processor =
    processor ??
    (async (job) => {
      throw new Error(`no handler for job ${job.name}`);
    });
  const options = { connection: deps.redis, prefix: deps.env.QUEUE_PREFIX, concurrency: deps.env.WORKER_CONCURRENCY };
  const inbox = new Worker(QUEUE_NAMES.inbox, process, options);
  const unmatched = new Worker(QUEUE_NAMES.unmatched, process, options);
  await Promise.all([inbox.waitUntilReady(), unmatched.waitUntilReady()]);
  return {
    inbox,
    unmatched,
    async close() {
      await Promise.all([inbox.close(), unmatched.close()]);
    },
  };
}
