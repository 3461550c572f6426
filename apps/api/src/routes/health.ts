// Liveness and readiness: /healthz says the process serves; /readyz that Redis and PostgreSQL answer.
import { type Db, pingDb } from "@mailstate/db";
import { pingRedis } from "@mailstate/queue";
import { Router } from "express";
import type { Redis } from "ioredis";

export function healthRoutes({ db, redis }: { db: Db; redis: Redis }): Router {
  const router = Router();
  router.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  router.get("/readyz", async (_req, res) => {
    const [redisUp, databaseUp] = await Promise.all([pingRedis(redis), pingDb(db)]);
    const ready = redisUp && databaseUp;
    res.status(ready ? 200 : 503).json({
      status: ready ? "ready" : "unavailable",
      redis: redisUp ? "up" : "down",
      postgres: databaseUp ? "up" : "down",
    });
  });
  return router;
}
