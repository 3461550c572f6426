// Boots the API: env, connections, the app; stops cleanly on SIGTERM (main.ts starts tracing first).
import { createDb, createSqlPool } from "@mailstate/db";
import { createQueues, createRedis, recordInboxLayout } from "@mailstate/queue";
import { createLogger, loadEnvOrExit, onShutdown } from "@mailstate/runtime";
import { stopTracing } from "@mailstate/tracing";
import { createApiServer } from "./app.ts";
import { loadApiEnv } from "./env.ts";

const env = loadEnvOrExit(loadApiEnv, "mailstate api");
const logger = createLogger("mailstate-api", env.LOG_LEVEL);
// Two pools share DATABASE_POOL_SIZE, so the API opens as many connections as it did with one: the
// pg pool of the record path takes the larger half, Prisma (reads, ops pages) the rest, one at least.
const sqlPoolSize = Math.ceil(env.DATABASE_POOL_SIZE / 2);
// Every request answers within DATABASE_TIMEOUT_MS (http/database-deadline.ts): no statement, lock
// wait or wait for a connection outlasts it, so one stuck request does not hold the others.
const limits = {
  connectionTimeoutMs: env.DATABASE_TIMEOUT_MS,
  statementTimeoutMs: env.DATABASE_TIMEOUT_MS,
  lockTimeoutMs: Math.ceil(env.DATABASE_TIMEOUT_MS / 2),
};
const db = createDb({
  databaseUrl: env.DATABASE_URL,
  poolSize: Math.max(1, env.DATABASE_POOL_SIZE - sqlPoolSize),
  ...limits,
});
const sql = createSqlPool({
  databaseUrl: env.DATABASE_URL,
  poolSize: sqlPoolSize,
  ...limits,
  onError: (error) => logger.warn({ err: error.message }, "postgres connection error"),
});
const redis = createRedis(env, "producer");
redis.on("error", (error) => logger.warn({ err: error.message }, "redis connection error"));
const queues = createQueues(redis, env.QUEUE_PREFIX, {}, { inboxShards: env.INBOX_SHARDS });
// Workers drain the shards of every INBOX_SHARDS ever written to: this one is recorded once Redis answers.
redis.once("ready", () => {
  recordInboxLayout(redis, env.QUEUE_PREFIX, env.INBOX_SHARDS).catch((error: Error) =>
    logger.warn({ err: error.message }, "INBOX_SHARDS not recorded in Redis"),
  );
});
const server = createApiServer({ env, db, sql, redis, queues, logger });

server.listen(env.PORT, env.HOST, () => {
  logger.info({ port: env.PORT }, "api listening");
  if (!env.OPS_PASSWORD) logger.warn("OPS_PASSWORD is not set: Bull Board and the support pages answer 503");
});

onShutdown(logger, async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await queues.close();
  redis.disconnect();
  await db.$disconnect();
  await sql.end();
  await stopTracing();
});
