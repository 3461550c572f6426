export { createRandom, type Random } from "@mailstate/resend-standin";
export {
  createMigratedDatabaseOn,
  freePort,
  type PostgresCluster,
  type RedisServer,
  startPostgresCluster,
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
export { waitForDrain } from "./queues.ts";
export { prefixMemory, testQueuePrefix, testRedisUrl } from "./redis.ts";
export { makeWorkload, type Workload, type WorkloadEvent } from "./workload.ts";
