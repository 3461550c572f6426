// Failed ops sign-ins, counted in Redis (rate-limiter-flexible) so every API process shares the
// count, after rate-limiter-flexible's login-protection recipe and OWASP's guidance: per (client
// IP, user name), OPS_LOGIN_MAX_FAILURES in a row, reset by a right sign-in from that address; and
// per client IP, OPS_LOGIN_MAX_FAILURES_PER_IP whatever the names, so one address cannot walk
// through many. Both within OPS_LOGIN_WINDOW_SECONDS. Once a count is spent, attempts from that
// address (for that name, or for any) answer 429 until its window ends, the right password
// included. Failures from one address never block the same user signing in from another: a guesser
// cannot lock the operator out. If Redis cannot answer, each process counts in memory instead: the
// password is still required and guessing still slowed, and support keeps its pages.

import { createHash } from "node:crypto";
import type { RedisClient } from "@mailstate/queue";
import type { Logger } from "@mailstate/runtime";
import { RateLimiterMemory, RateLimiterRedis } from "rate-limiter-flexible";

export interface LoginThrottle {
  /**
   * Seconds until this IP may try this user name again (0 when neither count is spent), and the
   * failures in a row of the pair, so that a right sign-in resets only a count there is.
   */
  check(ip: string, username: string): Promise<{ retryAfter: number; failuresInARow: number }>;
  recordFailure(ip: string, username: string): Promise<void>;
  /** A right sign-in: the failures in a row of this name from this address start again. */
  recordSuccess(ip: string, username: string): Promise<void>;
}

export interface LoginThrottleOptions {
  redis: RedisClient;
  /** Keys go under `<prefix>:ops-login:`, next to the queues (QUEUE_PREFIX). */
  prefix: string;
  /** Failures in a row per (IP, user name). */
  maxFailures: number;
  /** Failures per IP, whatever the user names. */
  maxFailuresPerIp: number;
  windowSeconds: number;
  logger: Logger;
}

/** User names are chosen by whoever signs in: hashed, so a key stays short and plain. */
const nameKey = (ip: string, username: string) =>
  `${ip}|${createHash("sha256").update(username, "utf8").digest("hex").slice(0, 32)}`;

export function createLoginThrottle({
  redis,
  prefix,
  maxFailures,
  maxFailuresPerIp,
  windowSeconds,
  logger,
}: LoginThrottleOptions): LoginThrottle {
  const limiter = (kind: "ip" | "ip-user", points: number) => {
    const keyPrefix = `${prefix}:ops-login:${kind}`;
    return new RateLimiterRedis({
      storeClient: redis,
      keyPrefix,
      points,
      duration: windowSeconds,
      // Not waiting for a reconnect: straight to the in-memory count.
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory({ keyPrefix, points, duration: windowSeconds }),
    });
  };
  const byIpAndUser = limiter("ip-user", maxFailures);
  const byIp = limiter("ip", maxFailuresPerIp);
  let warned = false;
  const fallback = (error: unknown) => {
    // Both stores failed (should not happen: memory does not): let the password decide alone.
    if (!warned) logger.warn({ err: error instanceof Error ? error.message : String(error) }, "login throttle off");
    warned = true;
  };

  return {
    async check(ip, username) {
      try {
        const [pairCount, ipCount] = await Promise.all([byIpAndUser.get(nameKey(ip, username)), byIp.get(ip)]);
        const waits = [
          pairCount && pairCount.consumedPoints >= maxFailures ? pairCount.msBeforeNext : null,
          ipCount && ipCount.consumedPoints >= maxFailuresPerIp ? ipCount.msBeforeNext : null,
        ].filter((wait): wait is number => wait !== null);
        return {
          retryAfter: waits.length === 0 ? 0 : Math.max(1, Math.ceil(Math.max(...waits) / 1_000)),
          failuresInARow: pairCount?.consumedPoints ?? 0,
        };
      } catch (error) {
        fallback(error);
        return { retryAfter: 0, failuresInARow: 0 };
      }
    },
    async recordFailure(ip, username) {
      try {
        await Promise.all([byIpAndUser.penalty(nameKey(ip, username)), byIp.penalty(ip)]);
      } catch (error) {
        fallback(error);
      }
    },
    async recordSuccess(ip, username) {
      try {
        await byIpAndUser.delete(nameKey(ip, username));
      } catch (error) {
        fallback(error);
      }
    },
  };
}
