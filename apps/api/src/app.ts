// The API's HTTP server and express app, built from their dependencies so tests run the real thing.
import { createServer, type Server } from "node:http";
import type { Db, SqlPool } from "@mailstate/db";
import { createMemoryGuard, type MemoryGuard, type Queues, type RedisClient } from "@mailstate/queue";
import type { Logger } from "@mailstate/runtime";
import express, { type Express } from "express";
import type { ApiEnv } from "./env.ts";
import { createDatabaseHealth, databaseDeadline } from "./http/database-deadline.ts";
import { type ApiMetrics, createMetrics, metricsRoutes } from "./http/metrics.ts";
import { problemHandler, sendProblem } from "./http/problems.ts";
import { requestLog } from "./http/request-log.ts";
import { urlLengthCap } from "./http/url-cap.ts";
import { opsRoutes } from "./ops/router.ts";
import { SUPPORT_PATH } from "./ops/support-layout.ts";
import { healthRoutes } from "./routes/health.ts";
import { createWebhookHandler, isWebhookRequest, type WebhookHandler, webhookRoutes } from "./routes/webhooks.ts";
import { openApiRoutes } from "./v1/openapi.ts";
import { v1Routes } from "./v1/router.ts";

export interface ApiDeps {
  env: ApiEnv;
  /** Prisma: reads, the ops pages, health. */
  db: Db;
  /** node-postgres: the record path (recording sends, attaching Resend's ids). */
  sql: SqlPool;
  redis: RedisClient;
  queues: Queues;
  logger: Logger;
}

/**
 * The API's HTTP server. `POST /webhooks/resend`, most of its traffic, goes straight to the webhook
 * handler; every other request goes through express.
 */
export function createApiServer(deps: ApiDeps): Server {
  const memory = createMemoryGuard(deps.redis, deps.env.WEBHOOK_REDIS_MEMORY_MAX_PERCENT);
  const metrics = createMetrics(deps.queues, { db: deps.db, memory });
  const webhook = createWebhookHandler({ ...deps, metrics, memory });
  const app = createApp(deps, { metrics, webhook, memory });
  const { HTTP_HEADERS_TIMEOUT_MS, HTTP_REQUEST_TIMEOUT_MS, HTTP_KEEP_ALIVE_TIMEOUT_MS } = deps.env;
  const server = createServer(
    // Node checks the two request timeouts every this often (30 s by default): often enough that a
    // connection is dropped close to its bound.
    { connectionsCheckingInterval: Math.min(1_000, HTTP_HEADERS_TIMEOUT_MS) },
    (req, res) => {
      if (isWebhookRequest(req)) void webhook(req, res);
      else app(req, res);
    },
  );
  // Slow clients cannot pile connections up: headers must be in within HTTP_HEADERS_TIMEOUT_MS, the
  // whole request within HTTP_REQUEST_TIMEOUT_MS (408, then closed), and an idle kept-alive
  // connection is closed after HTTP_KEEP_ALIVE_TIMEOUT_MS.
  server.headersTimeout = HTTP_HEADERS_TIMEOUT_MS;
  server.requestTimeout = Math.max(HTTP_REQUEST_TIMEOUT_MS, HTTP_HEADERS_TIMEOUT_MS);
  server.keepAliveTimeout = HTTP_KEEP_ALIVE_TIMEOUT_MS;
  return server;
}

function createApp(
  deps: ApiDeps,
  { metrics, webhook, memory }: { metrics: ApiMetrics; webhook: WebhookHandler; memory: MemoryGuard },
): Express {
  const app = express();
  app.disable("x-powered-by");
  // Whose X-Forwarded-For to believe (default: nobody), so a client cannot choose the address
  // that req.ip, the login throttle and the origin check see.
  app.set("trust proxy", deps.env.TRUST_PROXY);

  // First of all: a hostile URL costs one length check, before routing, logging or auth.
  app.use(urlLengthCap(deps.env.MAX_URL_LENGTH));
  // Before the request logger: the webhook route logs its own single line (outcome and svix-id,
  // never headers or body), and scrapes and probes would only be noise.
  app.use(webhookRoutes(webhook));
  app.use(metricsRoutes(metrics));
  const databaseHealth = createDatabaseHealth();
  app.use(healthRoutes({ ...deps, databaseHealth, memory }));
  app.use(requestLog(deps.logger));
  app.use(openApiRoutes());
  app.use(["/v1", SUPPORT_PATH], databaseDeadline(deps.env.DATABASE_TIMEOUT_MS, databaseHealth));
  app.use(v1Routes({ ...deps, databaseHealth }));
  // Bull Board and the support pages, behind basic auth.
  app.use(opsRoutes(deps));
  app.use((_req, res) => sendProblem(res, "not_found"));
  app.use(problemHandler((error) => deps.logger.error({ err: error }, "unhandled error")));
  return app;
}
