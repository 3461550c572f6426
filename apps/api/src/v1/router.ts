// Mounts /v1: API-key auth first (bodies of strangers are never parsed), the key's rate limit, JSON
// bodies, the routes, and the mapping of "PostgreSQL is unreachable" to a 503 problem instead of a 500.
import { type Db, isDatabaseUnavailable, type SqlPool } from "@mailstate/db";
import type { Queues, RedisClient } from "@mailstate/queue";
import { type Logger, suppressionSyncOf } from "@mailstate/runtime";
import express, { type ErrorRequestHandler, Router } from "express";
import type { ApiEnv } from "../env.ts";
import type { DatabaseHealth } from "../http/database-deadline.ts";
import { AppError } from "../http/problems.ts";
import { requireApiKey } from "./auth.ts";
import { cancelRoutes } from "./cancel.ts";
import { createKeyLookup } from "./key-lookup.ts";
import { notificationRoutes } from "./notifications.ts";
import { rateLimitPerKey } from "./rate-limit.ts";
import { recipientRoutes } from "./recipients.ts";
import { reputationRoutes } from "./reputation.ts";
import { mirrorOn, suppressionRoutes } from "./suppressions.ts";
import { webhookEndpointRoutes } from "./webhook-endpoints.ts";

export interface V1Deps {
  env: Pick<
    ApiEnv,
    | "API_KEYS"
    | "QUEUE_PREFIX"
    | "API_RATE_LIMIT_RPS"
    | "API_RATE_LIMIT_BURST"
    | "API_RATE_LIMIT_ADMIN_RPS"
    | "SUPPRESSION_SCOPE"
    | "RESEND_API_KEY"
    | "RESEND_BASE_URL"
    | "RESEND_API_TIMEOUT_MS"
    | "RESEND_SUPPRESSION_SYNC"
    | "OUTBOUND_ALLOW_PRIVATE"
  >;
  db: Db;
  sql: SqlPool;
  /** Where the rate limits are counted. */
  redis: RedisClient;
  queues: Queues;
  logger: Logger;
  /** Where requests PostgreSQL did not answer are noted, for /readyz. */
  databaseHealth: DatabaseHealth;
}

/** 100 notifications with generous metadata fit; anything larger is a mistake. */
const BODY_LIMIT = "1mb";

/** PostgreSQL down, refusing, or too slow (a lock or a statement past its timeout): 503 with Retry-After. */
const databaseUnavailable =
  (health: DatabaseHealth): ErrorRequestHandler =>
  (error, _req, res, next) => {
    if (!isDatabaseUnavailable(error)) return next(error);
    health.noteFailure();
    if (res.headersSent) return;
    res.set("Retry-After", "5");
    next(new AppError("database_unavailable", "PostgreSQL did not answer; retry later"));
  };

export function v1Routes(deps: V1Deps): Router {
  const v1 = Router();
  const { env, db, redis, logger } = deps;
  v1.use(requireApiKey(createKeyLookup({ db, envKeys: env.API_KEYS, logger })));
  v1.use(
    rateLimitPerKey({
      redis,
      prefix: env.QUEUE_PREFIX,
      rps: env.API_RATE_LIMIT_RPS,
      adminRps: env.API_RATE_LIMIT_ADMIN_RPS,
      burst: env.API_RATE_LIMIT_BURST,
    }),
  );
  v1.use(express.json({ limit: BODY_LIMIT }));
  v1.use(notificationRoutes({ ...deps, scope: env.SUPPRESSION_SCOPE }));
  v1.use(
    cancelRoutes({
      ...deps,
      resend: { apiKey: env.RESEND_API_KEY, baseUrl: env.RESEND_BASE_URL, timeoutMs: env.RESEND_API_TIMEOUT_MS },
    }),
  );
  v1.use(
    suppressionRoutes({
      db,
      scope: env.SUPPRESSION_SCOPE,
      mirror: suppressionSyncOf(env) === "both" ? mirrorOn(deps.queues, logger) : null,
    }),
  );
  v1.use(webhookEndpointRoutes({ db, allowPrivate: env.OUTBOUND_ALLOW_PRIVATE }));
  v1.use(reputationRoutes({ sql: deps.sql }));
  v1.use(recipientRoutes({ sql: deps.sql, queues: deps.queues, redis, prefix: env.QUEUE_PREFIX }));
  v1.use(databaseUnavailable(deps.databaseHealth));
  const router = Router();
  router.use("/v1", v1);
  return router;
}
