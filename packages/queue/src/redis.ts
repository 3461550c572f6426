// Redis connections for the two roles: producers must fail fast, workers must wait forever.
import { withTimeout } from "@mailstate/runtime";
import { Redis, type RedisOptions } from "ioredis";

export type RedisRole = "producer" | "worker";

/**
 * `producer` (the API): no offline queue and one retry per command, so a webhook answers 503 at
 * once when Redis is gone instead of hanging. `worker`: `maxRetriesPerRequest: null`, as BullMQ
 * requires for blocking commands, reconnecting by itself with a capped backoff.
 *
 * Both pipeline automatically: the commands issued in one turn of the event loop (the adds of the
 * webhooks that arrived together, the completions of a batch of jobs) go to Redis in one write and
 * come back in one read, while one such pipeline is in flight the next gathers. Each command still
 * answers, or fails, on its own; a write and a read per command cost the API, Redis and the
 * worker more CPU than the commands themselves.
 */
export function createRedis(url: string, role: RedisRole, overrides: RedisOptions = {}): Redis {
  const common: RedisOptions = {
    enableAutoPipelining: true,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  };
  const byRole: RedisOptions =
    role === "producer"
      ? { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 2_000 }
      : { maxRetriesPerRequest: null, enableReadyCheck: true };
  return new Redis(url, { ...common, ...byRole, ...overrides });
}

/** True when Redis answers PING within the bound. */
export async function pingRedis(redis: Redis, timeoutMs = 1_000): Promise<boolean> {
  try {
    return (await withTimeout(redis.ping(), timeoutMs, "a Redis ping")) === "PONG";
  } catch {
    return false;
  }
}
