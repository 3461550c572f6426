export { createRandom, type Random } from "@mailstate/resend-standin";
export {
  createMigratedDatabaseOn,
  freePort,
  type PostgresCluster,
  type RedisClusterServers,
  type RedisServer,
  startPostgresCluster,
  startRedisCluster,
  startRedisServer,
} from "./clusters.ts";
export {
  createMigratedDatabase,
  createTestDatabase,
  databaseUrl,
  dropDatabase,
  type TestDatabase,
  templateDatabase,
  testServerUrl,
  withAdminClient,
} from "./databases.ts";
export {
  type Answer,
  type ApiClient,
  type AppEntry,
  type Closable,
  createHarness,
  type Harness,
  type HarnessOptions,
  type RunningApi,
  type Stack,
  type StartContext,
  type System,
  startStack,
  TEST_API_KEY,
  type Vars,
} from "./harness.ts";
export {
  type Answerer,
  HttpReceiver,
  type HttpReceiverOptions,
  type ReceivedRequest,
  type Reply,
} from "./http-receiver.ts";
export { basicAuth, OPS_ENV, OPS_PASSWORD, OPS_USERNAME } from "./ops.ts";
export { exitOf, type Spawned, spawnProcess } from "./processes.ts";
export {
  type DrainOptions,
  findInboxEvent,
  type InboxEventFound,
  inboxEvents,
  waitForDrain,
  waitForSweeperPasses,
} from "./queues.ts";
export { prefixMemory, testQueuePrefix, testRedisUrl } from "./redis.ts";
export { sleep, type WaitOptions, waitForPlannedStates, waitForReady, waitUntil } from "./wait.ts";
export {
  deliverWebhook,
  eventFor,
  newSvixId,
  resendEvent,
  signedWebhookHeaders,
  TEST_WEBHOOK_SECRET,
} from "./webhooks.ts";
export { makeWorkload, shuffle, type Workload, type WorkloadEvent } from "./workload.ts";
