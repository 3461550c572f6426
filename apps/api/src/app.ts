// The API's express app, built from its dependencies so tests run the real thing.
import type { Db } from "@mailstate/db";
import type { Queues } from "@mailstate/queue";
import type { Logger } from "@mailstate/runtime";
import express, { type Express } from "express";
import type { Redis } from "ioredis";
import type { ApiEnv } from "./env.ts";
import { problemHandler, sendProblem } from "./http/problems.ts";
import { healthRoutes } from "./routes/health.ts";

export interface ApiDeps {
  env: ApiEnv;
  db: Db;
  redis: Redis;
  queues: Queues;
  logger: Logger;
}

export function createApp(deps: ApiDeps): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", true);
  app.use(healthRoutes(deps));
  app.use((_req, res) => sendProblem(res, "not_found"));
  app.use(problemHandler((error) => deps.logger.error({ err: error }, "unhandled error")));
  return app;
}
