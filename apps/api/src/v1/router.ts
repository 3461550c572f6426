// Mounts /v1: API-key auth first (bodies of strangers are never parsed), the key's rate limit, JSON
// bodies, the routes of the route table, and the mapping of "PostgreSQL is unreachable" to a 503
// problem instead of a 500.
import { isDatabaseUnavailable } from "@mailstate/db";
import express, { type ErrorRequestHandler, Router } from "express";
import type { DatabaseHealth } from "../http/database-deadline.ts";
import { AppError } from "../http/problems.ts";
import { requireApiKey } from "./auth.ts";
import { createKeyLookup } from "./key-lookup.ts";
import { rateLimitPerKey } from "./rate-limit.ts";
import type { V1Deps, V1Operation } from "./route-group.ts";
import { V1_ROUTES } from "./route-table.ts";

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

/** `post /v1/notifications/{id}`: a route as the OpenAPI document writes it. */
const operationKey = (method: string, path: string) => `${method} ${path}`;

/** Every route an express router under /v1 serves, its sub-routers' included, as the document writes them. */
export function servedRoutes(router: Pick<Router, "stack">): string[] {
  return router.stack.flatMap((layer) => {
    // A sub-router is a layer whose handler has a stack of its own.
    if ("stack" in layer.handle) return servedRoutes(layer.handle as Router);
    if (!layer.route) return [];
    const path = `/v1${layer.route.path.replace(/:(\w+)/g, "{$1}")}`;
    return [...new Set(layer.route.stack.map((handler) => operationKey(handler.method, path)))];
  });
}

/**
 * A group's router, once it is known to serve exactly the group's operations: a route added to a
 * router and not to the table (or the reverse) stops the API at boot, so the document cannot miss it.
 */
function servingExactly(router: Router, operations: readonly V1Operation[]): Router {
  const served = new Set(servedRoutes(router));
  const listed = new Set(operations.map((operation) => operationKey(operation.method, operation.path)));
  const unlisted = [...served].filter((route) => !listed.has(route));
  const unserved = [...listed].filter((route) => !served.has(route));
  if (unlisted.length > 0 || unserved.length > 0) {
    throw new Error(
      `the /v1 route table and its routers disagree: served but not in route-table.ts [${unlisted.join(", ")}]; in route-table.ts but not served [${unserved.join(", ")}]`,
    );
  }
  return router;
}

/** The router served under /v1. */
export function v1Router(deps: V1Deps): Router {
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
  for (const group of V1_ROUTES) v1.use(servingExactly(group.serve(deps), group.operations));
  v1.use(databaseUnavailable(deps.databaseHealth));
  return v1;
}

export function v1Routes(deps: V1Deps): Router {
  const router = Router();
  router.use("/v1", v1Router(deps));
  return router;
}
