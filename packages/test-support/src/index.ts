export {
  createTestDatabase,
  databaseUrl,
  type TestDatabase,
  templateDatabase,
  testServerUrl,
  withAdminClient,
} from "./databases.ts";
export { testQueuePrefix, testRedisUrl } from "./redis.ts";
