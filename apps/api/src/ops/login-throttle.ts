// Failed ops sign-ins, counted in Redis per client IP and per user name (rate-limiter-flexible), so
// every API process shares the count. Only failures count; once either count reaches the limit,
// every attempt from that IP or for that name answers 429 until its window ends, the right
// password included. If Redis cannot answer, each process counts in memory instead: the password
// is still required and guessing is still slowed, and support keeps its pages during a Redis outage.

import { createHash } from "node:crypto";
import type { RedisClient } from "@mailstate/queue";
import type { Logger } from "@mailstate/runtime";
import { RateLimiterMemory, RateLimiterRedis } from "rate-limiter-flexible";

export interface LoginThrottle {
  /** Seconds until this IP and this user name may try again; 0 when neither is blocked. */
  retryAfter(ip: string, username: string): Promise<number>;
  recordFailure(ip: string, username: string): Promise<void>;
}

export interface LoginThrottleOptions {
  redis: RedisClient;
  /** Keys go under `<prefix>:ops-login:`, next to the queues (QUEUE_PREFIX). */
  prefix: string;
  maxFailures: number;
  windowSeconds: number;
  logger: Logger;
}

/** User names are chosen by whoever signs in: hashed, so a key stays short and plain. */
const nameKey = (username: string) => createHash("sha256").update(username, "utf8").digest("hex").slice(0, 32);

export function createLoginThrottle({
  redis,
  prefix,
  maxFailures,
  windowSeconds,
  logger,
}: LoginThrottleOptions): LoginThrottle {
  const limiter = (kind: "ip" | "user") => {
    const keyPrefix = `${prefix}:ops-login:${kind}`;
    return new RateLimiterRedis({
      storeClient: redis,
      keyPrefix,
      points: maxFailures,
      duration: windowSeconds,
      // Not waiting for a reconnect: straight to the in-memory count.
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory({ keyPrefix, points: maxFailures, duration: windowSeconds }),
    });
  };
  const byIp = limiter("ip");
  const byUser = limiter("user");
  let warned = false;
  const fallback = (error: unknown) => {
    // Both stores failed (should not happen: memory does not): let the password decide alone.
    if (!warned) logger.warn({ err: error instanceof Error ? error.message : String(error) }, "login throttle off");
    warned = true;
  };

  return {
    async retryAfter(ip, username) {
      try {
        const [ipCount, userCount] = await Promise.all([byIp.get(ip), byUser.get(nameKey(username))]);
        const waits = [ipCount, userCount]
          .filter((count) => count !== null && count.consumedPoints >= maxFailures)
          .map((count) => count?.msBeforeNext ?? 0);
        return waits.length === 0 ? 0 : Math.max(1, Math.ceil(Math.max(...waits) / 1_000));
      } catch (error) {
        fallback(error);
        return 0;
      }
    },
    async recordFailure(ip, username) {
      try {
        await Promise.all([byIp.penalty(ip), byUser.penalty(nameKey(username))]);
      } catch (error) {
        fallback(error);
      }
    },
  };
}
