export {
  createTestDatabase,
  databaseUrl,
  TEMPLATE_DATABASE,
  type TestDatabase,
  testServerUrl,
  withAdminClient,
} from "./databases.ts";
export { testQueuePrefix, testRedisUrl } from "./redis.ts";
