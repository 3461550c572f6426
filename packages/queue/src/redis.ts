// Redis connections for the two roles: producers must fail fast, workers must wait forever.
import { withTimeout } from "@mailstate/runtime";
import { Redis, type RedisOptions } from "ioredis";

export type RedisRole = "producer" | "worker";

/**
 * `producer` (the API): no offline queue and one retry per command, so a webhook answers 503 at
 * once when Redis is gone instead of hanging. `worker`: `maxRetriesPerRequest: null`, as BullMQ
 * requires for blocking commands, reconnecting by itself with a capped backoff.
 */
export function createRedis(url: string, role: RedisRole, overrides: RedisOptions = {}): Redis {
  const common: RedisOptions = {
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
