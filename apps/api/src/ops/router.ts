// The ops surface: Bull Board at /admin/queues and the support pages at /support, both behind
// HTTP basic auth (OPS_USERNAME / OPS_PASSWORD). Without OPS_PASSWORD they answer 503, never open.
import type { Db } from "@mailstate/db";
import type { Queues } from "@mailstate/queue";
import type { Logger } from "@mailstate/runtime";
import { type RequestHandler, type Response, Router } from "express";
import type { ApiEnv } from "../env.ts";
import { requireBasicAuth } from "./basic-auth.ts";
import { bullBoardRouter } from "./bull-board.ts";
import { supportRoutes } from "./support-routes.ts";
import { BULL_BOARD_PATH, bareMessagePage, SUPPORT_PATH } from "./support-views.ts";

export interface OpsDeps {
  env: Pick<ApiEnv, "OPS_USERNAME" | "OPS_PASSWORD">;
  db: Db;
  queues: Pick<Queues, "inbox" | "unmatched">;
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

export function opsRoutes({ env, db, queues, logger }: OpsDeps): Router {
  const router = Router();
  const paths = [BULL_BOARD_PATH, SUPPORT_PATH];
  if (!env.OPS_PASSWORD) {
    router.use(paths, opsDisabled);
    return router;
  }
  const gate = requireBasicAuth({ username: env.OPS_USERNAME, password: env.OPS_PASSWORD }, (res, reason) =>
    sendPage(res, 401, "Sign-in needed", reason),
  );
  router.use(paths, gate);
  router.use(BULL_BOARD_PATH, bullBoardRouter(queues, BULL_BOARD_PATH));
  router.use(SUPPORT_PATH, supportRoutes({ db, logger }));
  return router;
}
