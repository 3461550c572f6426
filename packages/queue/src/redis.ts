// Redis connections for the two roles (producers fail fast, workers wait forever), on one Redis or
// through ioredis's Cluster client (REDIS_CLUSTER_NODES), which follows MOVED and ASK redirects.
import { withTimeout } from "@mailstate/runtime";
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from "ioredis";

export type RedisRole = "producer" | "worker";

/** What every process connects with: one Redis, or a cluster. Both run every command BullMQ needs. */
export type RedisClient = Redis | Cluster;

/** Where Redis is: REDIS_URL, or the cluster's seed nodes when REDIS_CLUSTER_NODES is set. */
export interface RedisTarget {
  REDIS_URL: string;
  REDIS_CLUSTER_NODES?: readonly { host: string; port: number }[] | undefined;
}

/** Only these per-call overrides apply to both clients (the CLI's: connect on demand, never reconnect). */
export type RedisOverrides = Pick<RedisOptions, "lazyConnect" | "retryStrategy">;

const COMMON: RedisOptions = {
  enableAutoPipelining: true,
  connectTimeout: 2_000,
  retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
};

/**
 * `producer` (the API): no offline queue and one retry per command, so a webhook answers 503 at
 * once when Redis is gone instead of hanging. `worker`: `maxRetriesPerRequest: null`, as BullMQ
 * requires for blocking commands, reconnecting by itself with a capped backoff.
 *
 * Both pipeline automatically: the commands issued in one turn of the event loop (the adds of the
 * webhooks that arrived together, the completions of a batch of jobs) go to Redis in one write and
 * come back in one read; while one such pipeline is in flight, the next one gathers. Each command
 * still answers, or fails, on its own. A write and a read per command cost the API, Redis and the
 * worker more CPU than most of the commands themselves. On a cluster, ioredis pipelines per node.
 */
export function createRedis(url: string, role: RedisRole, overrides?: RedisOverrides): Redis;
export function createRedis(target: RedisTarget, role: RedisRole, overrides?: RedisOverrides): RedisClient;
export function createRedis(
  target: string | RedisTarget,
  role: RedisRole,
  overrides: RedisOverrides = {},
): RedisClient {
  const { REDIS_URL: url, REDIS_CLUSTER_NODES: nodes } = typeof target === "string" ? { REDIS_URL: target } : target;
  const byRole: RedisOptions =
    role === "producer"
      ? { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 2_000 }
      : { maxRetriesPerRequest: null, enableReadyCheck: true };
  if (!nodes || nodes.length === 0) return new Redis(url, { ...COMMON, ...byRole, ...overrides });
  return new Cluster([...nodes], clusterOptions(url, role, overrides));
}

/**
 * BullMQ on a cluster (its "Redis Cluster" pattern): hash-tagged prefixes, and the role's options on
 * every node connection (`redisOptions`), `maxRetriesPerRequest: null` for workers included. The
 * cluster-level settings: the offline queue as the role wants it, the ready check (CLUSTER INFO says
 * ok), and short retries on CLUSTERDOWN and failover so a producer's add fails within its timeout
 * while a slot has no master. The password and TLS of REDIS_URL, if any, apply to every node.
 */
function clusterOptions(url: string, role: RedisRole, overrides: RedisOverrides): ClusterOptions {
  const parsed = new URL(url);
  const auth: RedisOptions = {
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.protocol === "rediss:" ? { tls: {} } : {}),
  };
  const producer = role === "producer";
  const retry = overrides.retryStrategy ?? COMMON.retryStrategy;
  return {
    enableAutoPipelining: true,
    enableReadyCheck: true,
    enableOfflineQueue: !producer,
    lazyConnect: overrides.lazyConnect ?? false,
    clusterRetryStrategy: retry ? (times) => retry(times) ?? null : null,
    retryDelayOnClusterDown: 200,
    retryDelayOnFailover: 200,
    retryDelayOnTryAgain: 100,
    // A slot map older than this is asked again: a failover or a resharding is seen within seconds.
    slotsRefreshInterval: 5_000,
    slotsRefreshTimeout: 2_000,
    redisOptions: {
      connectTimeout: COMMON.connectTimeout,
      ...auth,
      ...(producer
        ? { maxRetriesPerRequest: 1, commandTimeout: 2_000 }
        : { maxRetriesPerRequest: null, enableReadyCheck: true }),
    },
  };
}

/** Whether `connection` talks to a cluster (the Cluster client): BullMQ, the checks and the tests ask. */
export function isCluster(connection: RedisClient): connection is Cluster {
  return connection instanceof Cluster;
}

/** True when Redis answers PING within the bound. */
export async function pingRedis(redis: RedisClient, timeoutMs = 1_000): Promise<boolean> {
  try {
    return (await withTimeout(redis.ping(), timeoutMs, "a Redis ping")) === "PONG";
  } catch {
    return false;
  }
}
