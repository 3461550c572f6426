// Requests per API key, counted in Redis (rate-limiter-flexible) so every API process shares the
// count. Its token-bucket recipe, BurstyRateLimiter: each tenant key has API_RATE_LIMIT_RPS requests
// a second, and once a second's are spent draws on a reserve of API_RATE_LIMIT_BURST that refills
// every BURST_WINDOW_SECONDS. Past both: 429 with Retry-After. The admin keys of API_KEYS are the
// owner's own app: held to API_RATE_LIMIT_ADMIN_RPS (and the same reserve) only when it is set.
// If Redis cannot answer, each process counts in its own memory instead, so a Redis outage neither
// opens the gate nor closes /v1.
import type { RedisClient } from "@mailstate/queue";
import type { RequestHandler } from "express";
import { BurstyRateLimiter, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import { AppError } from "../http/problems.ts";
import { principalOf } from "./principal.ts";

/** How often the burst reserve refills. */
const BURST_WINDOW_SECONDS = 60;

export interface RateLimitOptions {
  redis: RedisClient;
  /** Keys go under `<prefix>:api-rate:`, next to the queues (QUEUE_PREFIX). */
  prefix: string;
  /** Requests per second per tenant key; 0 turns the limit off. */
  rps: number;
  /** Requests per second per admin key (API_KEYS); 0 turns the limit off. */
  adminRps: number;
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

/** A key's bucket: `rps` a second, then the reserve; none when `rps` is 0. */
function bucketOf(redis: RedisClient, keyPrefix: string, rps: number, burst: number) {
  if (rps === 0) return null;
  const perSecond = limiter(redis, `${keyPrefix}:second`, rps, 1);
  return burst === 0
    ? perSecond
    : new BurstyRateLimiter(perSecond, limiter(redis, `${keyPrefix}:burst`, burst, BURST_WINDOW_SECONDS));
}

export function rateLimitPerKey({ redis, prefix, rps, adminRps, burst }: RateLimitOptions): RequestHandler {
  const tenantBucket = bucketOf(redis, `${prefix}:api-rate`, rps, burst);
  const adminBucket = bucketOf(redis, `${prefix}:api-rate:admin`, adminRps, burst);
  return async (_req, res, next) => {
    const { rateKey, keyId } = principalOf(res);
    // A key of API_KEYS has no row in api_keys.
    const bucket = keyId === null ? adminBucket : tenantBucket;
    if (!bucket) return next();
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
