// The ops surface: Bull Board at /admin/queues and the support pages at /support, both behind
// HTTP basic auth (OPS_USERNAME / OPS_PASSWORD). Without OPS_PASSWORD they answer 503, never open.
import type { Db, SqlPool } from "@mailstate/db";
import type { Queues, RedisClient } from "@mailstate/queue";
import type { Logger } from "@mailstate/runtime";
import { type RequestHandler, type Response, Router } from "express";
import type { ApiEnv } from "../env.ts";
import { sendProblem } from "../http/problems.ts";
import { requireBasicAuth } from "./basic-auth.ts";
import { bullBoardRouter } from "./bull-board.ts";
import { opsSecurityHeaders, refuseCrossSiteWrites } from "./cross-site.ts";
import { createLoginThrottle } from "./login-throttle.ts";
import { BULL_BOARD_PATH, bareMessagePage, SUPPORT_PATH } from "./support-layout.ts";
import { supportRoutes } from "./support-routes.ts";

export interface OpsDeps {
  env: Pick<
    ApiEnv,
    | "OPS_USERNAME"
    | "OPS_PASSWORD"
    | "QUEUE_PREFIX"
    | "OPS_LOGIN_MAX_FAILURES"
    | "OPS_LOGIN_MAX_FAILURES_PER_IP"
    | "OPS_LOGIN_WINDOW_SECONDS"
    | "SUPPRESSION_SCOPE"
    | "TRACE_URL_TEMPLATE"
  >;
  db: Db;
  /** The support pages' plain-SQL reads (the reputation rollups). */
  sql: SqlPool;
  /** Where the failed sign-ins are counted. */
  redis: RedisClient;
  queues: Pick<Queues, "inboxShards" | "unmatched" | "maintenance" | "webhooks">;
  logger: Logger;
}

function sendPage(res: Response, status: number, title: string, message: string): void {
  res.status(status).set("Cache-Control", "no-store").type("html").send(bareMessagePage(title, message).value);
}

const opsDisabled: RequestHandler = (_req, res) => {
  sendPage(
    res,
    503,
    "Ops pages are switched off",
    "OPS_PASSWORD is not set, so Bull Board and the support pages stay closed. " +
      "Set OPS_PASSWORD (8 characters or more, and OPS_USERNAME if not “ops”) in the API's environment and restart it.",
  );
};

export function opsRoutes({ env, db, sql, redis, queues, logger }: OpsDeps): Router {
  const router = Router();
  const paths = [BULL_BOARD_PATH, SUPPORT_PATH];
  router.use(paths, opsSecurityHeaders);
  if (!env.OPS_PASSWORD) {
    router.use(paths, opsDisabled);
    return router;
  }
  // Before the sign-in: a forged cross-site request neither gets in nor counts as a failed sign-in.
  router.use(paths, refuseCrossSiteWrites);
  const gate = requireBasicAuth({
    credentials: { username: env.OPS_USERNAME, password: env.OPS_PASSWORD },
    throttle: createLoginThrottle({
      redis,
      prefix: env.QUEUE_PREFIX,
      maxFailures: env.OPS_LOGIN_MAX_FAILURES,
      maxFailuresPerIp: env.OPS_LOGIN_MAX_FAILURES_PER_IP,
      windowSeconds: env.OPS_LOGIN_WINDOW_SECONDS,
      logger,
    }),
    onDenied: (res, reason) => sendPage(res, 401, "Sign-in needed", reason),
    onThrottled: (res, seconds) => {
      res.set("Retry-After", String(seconds));
      sendProblem(res, "too_many_sign_in_attempts", `Too many failed sign-ins: try again in ${seconds} s.`);
    },
  });
  router.use(paths, gate);
  router.use(BULL_BOARD_PATH, bullBoardRouter(queues, BULL_BOARD_PATH));
  router.use(
    SUPPORT_PATH,
    supportRoutes({ db, sql, logger, scope: env.SUPPRESSION_SCOPE, traceUrlTemplate: env.TRACE_URL_TEMPLATE ?? null }),
  );
  return router;
}
