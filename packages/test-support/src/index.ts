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
export { testQueuePrefix, testRedisUrl } from "./redis.ts";
export { makeWorkload, type Workload, type WorkloadEvent } from "./workload.ts";
