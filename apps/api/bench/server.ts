// Child process of the ingest benchmark: serves either the real app or a bare body-reading route.
import { createDb, createSqlPool } from "@mailstate/db";
import { createQueues, createRedis } from "@mailstate/queue";
import { createLogger } from "@mailstate/runtime";
import express from "express";
import { createApp } from "../src/app.ts";
import { loadApiEnv } from "../src/env.ts";

const mode = process.argv[2];
const env = loadApiEnv();

function bareApp(): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.post("/webhooks/resend", express.raw({ type: () => true, limit: env.WEBHOOK_BODY_LIMIT }), (req, res) => {
    res.status(200).json({ status: "ok", bytes: Buffer.isBuffer(req.body) ? req.body.length : 0 });
  });
  return app;
}

function realApp(): express.Express {
  // Logs go to stdout as in production; the benchmark sends them to /dev/null.
  const logger = createLogger("mailstate-api", env.LOG_LEVEL);
  // Never queried by this route.
  const db = createDb({ databaseUrl: env.DATABASE_URL, poolSize: 1 });
  const sql = createSqlPool({ databaseUrl: env.DATABASE_URL, poolSize: 1 });
  const redis = createRedis(env.REDIS_URL, "producer");
  const queues = createQueues(redis, env.QUEUE_PREFIX);
  return createApp({ env, db, sql, redis, queues, logger });
}

const app = mode === "bare" ? bareApp() : realApp();
const server = app.listen(0, "127.0.0.1", () => {
  const address = server.address();
  process.send?.({ port: typeof address === "object" && address ? address.port : 0 });
});
// CPU time is the machine-independent figure: "mark" starts a window, "report" answers its µs.
let mark = process.cpuUsage();
process.on("message", (message: string) => {
  if (message === "mark") mark = process.cpuUsage();
  if (message === "report") {
    const used = process.cpuUsage(mark);
    process.send?.({ cpuMicros: used.user + used.system });
  }
});

// Exit normally (not by the signal's default) so that --cpu-prof, when given, writes its profile.
process.on("SIGTERM", () => process.exit(0));
process.on("disconnect", () => process.exit(0));
