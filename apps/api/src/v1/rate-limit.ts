// Requests per API key, counted in Redis (rate-limiter-flexible) so every API process shares the
// count. Its token-bucket recipe, BurstyRateLimiter: each key has API_RATE_LIMIT_RPS requests a
// second, and once a second's are spent draws on a reserve of API_RATE_LIMIT_BURST that refills
// every BURST_WINDOW_SECONDS. Past both: 429 with Retry-After. If Redis cannot answer, each process
// counts in its own memory instead, so a Redis outage neither opens the gate nor closes /v1.
import type { RedisClient } from "@mailstate/queue";
import type { RequestHandler } from "express";
import { BurstyRateLimiter, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import { AppError } from "../http/problems.ts";
import { principalOf } from "./principal.ts";

/** How often the burst reserve refills. */
export const BURST_WINDOW_SECONDS = 60;

export interface RateLimitOptions {
  redis: RedisClient;
  /** Keys go under `<prefix>:api-rate:`, next to the queues (QUEUE_PREFIX). */
  prefix: string;
  /** Requests per second per key; 0 turns the limit off. */
  rps: number;
  /** The reserve beyond them; 0 for none. */
  burst: number;
}

function limiter(redis: RedisClient, keyPrefix: string, points: number, duration: number): RateLimiterRedis {
  return new RateLimiterRedis({
    storeClient: redis,
    keyPrefix,
    points,
    duration,
    // Not waiting for a reconnect: straight to the in-memory count.
    rejectIfRedisNotReady: true,
    insuranceLimiter: new RateLimiterMemory({ keyPrefix, points, duration }),
  });
}

export function rateLimitPerKey({ redis, prefix, rps, burst }: RateLimitOptions): RequestHandler {
  if (rps === 0) return (_req, _res, next) => next();
  const perSecond = limiter(redis, `${prefix}:api-rate:second`, rps, 1);
  const bucket =
    burst === 0
      ? perSecond
      : new BurstyRateLimiter(perSecond, limiter(redis, `${prefix}:api-rate:burst`, burst, BURST_WINDOW_SECONDS));
  return async (_req, res, next) => {
    const { rateKey } = principalOf(res);
    try {
      await bucket.consume(rateKey);
      next();
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) return next(rejection);
      const seconds = Math.max(1, Math.ceil(rejection.msBeforeNext / 1_000));
      res.set("Retry-After", String(seconds));
      next(new AppError("rate_limited", `this API key sent too many requests; retry in ${seconds} s`));
    }
  };
}
