// Boots the worker: env, connections, one BullMQ worker per queue; finishes jobs in hand on SIGTERM
// (main.ts starts tracing first).
import { createSqlPool } from "@mailstate/db";
import { createRedis } from "@mailstate/queue";
import { createLogger, loadEnvOrExit, onShutdown } from "@mailstate/runtime";
import { stopTracing } from "@mailstate/tracing";
import { loadWorkerEnv } from "./env.ts";
import { createWorkerMetrics } from "./metrics.ts";
import { serveMetrics } from "./metrics-server.ts";
import { registerReputationGauges } from "./reputation-metrics.ts";
import { registerRetentionGauges } from "./retention-metrics.ts";
import { startWorkers } from "./workers.ts";

const env = loadEnvOrExit(loadWorkerEnv, "mailstate worker");
const logger = createLogger("mailstate-worker", env.LOG_LEVEL);
// One pool, one client: every query of the worker is plain SQL over node-postgres.
const sql = createSqlPool({
  databaseUrl: env.DATABASE_URL,
  poolSize: env.DATABASE_POOL_SIZE,
  onError: (error) => logger.warn({ err: error.message }, "idle PostgreSQL connection lost"),
});
const redis = createRedis(env, "worker");
redis.on("error", (error) => logger.warn({ err: error.message }, "redis connection error"));

const metrics = createWorkerMetrics({ processMetrics: true });
registerReputationGauges(metrics.registry, sql);
const workers = await startWorkers({ env, sql, redis, logger, metrics });
registerRetentionGauges(metrics.registry, sql, workers.maintenanceJobs.lastRetention);
const metricsServer =
  env.WORKER_METRICS_PORT > 0
    ? await serveMetrics(metrics.registry, env.WORKER_METRICS_PORT).catch((error: NodeJS.ErrnoException) => {
        logger.fatal(
          { err: error.message, code: error.code },
          `WORKER_METRICS_PORT ${env.WORKER_METRICS_PORT} cannot be served: pick a free port, or 0 for none`,
        );
        process.exit(78); // EX_CONFIG
      })
    : null;
logger.info(
  {
    concurrency: env.WORKER_CONCURRENCY,
    prefix: env.QUEUE_PREFIX,
    cluster: env.REDIS_CLUSTER_NODES !== undefined,
    inbox: workers.inboxQueues.map((queue) => queue.name),
    metricsPort: metricsServer?.port ?? null,
  },
  "worker ready",
);

onShutdown(logger, async () => {
  await metricsServer?.close();
  await workers.close();
  redis.disconnect();
  await sql.end();
  await stopTracing();
});
