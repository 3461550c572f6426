// What tests elsewhere need of the API (`@mailstate/api/testing`): the API as the harness of
// @mailstate/test-support starts it (in this process, or its main.ts as a process), the whole system
// (API, worker, connections) to pass to that harness, and the API code other tests call directly.
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { createQueues, createRedis, recordInboxLayout } from "@mailstate/queue";
import { createLogger } from "@mailstate/runtime";
import type { AppEntry, Harness, RunningApi, Stack } from "@mailstate/test-support";
import { connect, type DbClients, type RunningWorkers, worker } from "@mailstate/worker/testing";
import { createApiServer } from "../src/app.ts";
import { loadApiEnv } from "../src/env.ts";

export { allowedWrite, BULL_BOARD_API_ROUTES } from "../src/ops/bull-board-policy.ts";
export { MAX_BATCH, MAX_CHECK } from "../src/v1/schemas/requests.ts";

/** createApiServer on the harness's Prisma client and pg pool and a Redis connection of its own, on an ephemeral port. */
export const api: AppEntry<DbClients, RunningApi> = {
  main: fileURLToPath(new URL("../src/main.ts", import.meta.url)),
  async start({ env: vars, clients, logger }) {
    const env = loadApiEnv(vars);
    const redis = createRedis(env, "producer");
    redis.on("error", () => {}); // tests stop Redis on purpose
    const queues = createQueues(redis, env.QUEUE_PREFIX, {}, { inboxShards: env.INBOX_SHARDS });
    redis.once("ready", () => {
      recordInboxLayout(redis, env.QUEUE_PREFIX, env.INBOX_SHARDS).catch(() => {});
    });
    const server = createApiServer({
      env,
      db: clients.db,
      sql: clients.sql,
      redis,
      queues,
      logger: logger ?? createLogger("api-test", "silent"),
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return {
      baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      queues,
      async close() {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await queues.close();
        redis.disconnect();
      },
    };
  },
};

/** The API, the worker and the test's connections: what end-to-end tests run. */
export const mailstateSystem = { connect, worker, api };

export type MailstateHarness = Harness<DbClients, RunningWorkers, RunningApi>;
/** A harness with the API running in this process (`startStack(label, mailstateSystem)`). */
export type MailstateStack = Stack<DbClients, RunningWorkers, RunningApi>;
