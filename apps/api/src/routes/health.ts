// Liveness and readiness: /healthz says the process serves; /readyz that a webhook could be taken
// now: PostgreSQL answers, Redis answers, every inbox shard can be written (on a cluster: the node
// that owns each shard's slot takes writes), and Redis will not evict jobs. PostgreSQL that answers
// but left requests unanswered lately (a locked table) is `degraded`, and the API still ready.
import { type Db, pingDb } from "@mailstate/db";
import { type MemoryGuard, pingRedis, type Queues, type RedisClient } from "@mailstate/queue";
import { withTimeout } from "@mailstate/runtime";
import { Router } from "express";
import type { ApiEnv } from "../env.ts";
import type { DatabaseHealth } from "../http/database-deadline.ts";

export interface HealthDeps {
  db: Db;
  /** Requests PostgreSQL did not answer in time lately: a locked table answers SELECT 1 all the same. */
  databaseHealth?: DatabaseHealth;
  /** Redis past WEBHOOK_REDIS_MEMORY_MAX_PERCENT of its maxmemory: webhooks are refused. */
  memory?: MemoryGuard;
  redis: RedisClient;
  queues: Pick<Queues, "inboxShards">;
  env: Pick<ApiEnv, "QUEUE_PREFIX">;
}

/** Every check is bounded by this, and they run side by side: /readyz answers within about a second. */
const CHECK_TIMEOUT_MS = 1_000;

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error)).slice(0, 200);

/**
 * What a write to the queue's keys gets: "writable", or why not. PING passes on a Redis that
 * refuses writes (maxmemory reached under noeviction: OOM; a read-only replica: READONLY; an ACL).
 */
async function probeWrite(redis: RedisClient, key: string): Promise<string> {
  try {
    await withTimeout(redis.set(key, "1", "PX", 10_000), CHECK_TIMEOUT_MS, "a write to Redis");
    return "writable";
  } catch (error) {
    return `not writable: ${messageOf(error)}`;
  }
}

/** Redis's maxmemory-policy: from CONFIG GET, else INFO memory (managed Redis often refuses CONFIG), else undefined. */
async function evictionPolicy(redis: RedisClient): Promise<string | undefined> {
  try {
    const answer = (await withTimeout(redis.config("GET", "maxmemory-policy"), CHECK_TIMEOUT_MS, "CONFIG GET")) as
      | string[]
      | undefined;
    if (answer?.[1]) return answer[1];
  } catch {
    // Refused or renamed: ask INFO.
  }
  try {
    const info = await withTimeout(redis.info("memory"), CHECK_TIMEOUT_MS, "INFO memory");
    return /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
  } catch {
    return undefined;
  }
}

/**
 * A write to a key in each shard's hash slot: on a cluster, each reaches the master that owns the
 * shard's slot, so a shard whose master is down (or a client on a node that only redirects) fails.
 */
async function probeShards(redis: RedisClient, keys: string[]): Promise<string> {
  const answers = await Promise.all(keys.map((key) => probeWrite(redis, key)));
  const failed = answers.findIndex((answer) => answer !== "writable");
  if (failed === -1) return "writable";
  return keys.length === 1 ? (answers[0] ?? "") : `shard ${failed} ${answers[failed]}`;
}

export function healthRoutes({ db, redis, queues, env, databaseHealth, memory }: HealthDeps): Router {
  const router = Router();
  // One shard keeps today's key (`<prefix>:readyz`); several, a key under each shard's own tag.
  const shards = queues.inboxShards;
  const probeKeys =
    shards.length === 1
      ? [`${env.QUEUE_PREFIX}:readyz`]
      : shards.map((queue) => `${queue.opts.prefix}:${queue.name}:readyz`);
  router.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  router.get("/readyz", async (_req, res) => {
    const [redisUp, databaseUp, writable, policy, full] = await Promise.all([
      pingRedis(redis, CHECK_TIMEOUT_MS),
      pingDb(db),
      probeShards(redis, probeKeys),
      evictionPolicy(redis),
      memory?.refresh() ?? null,
    ]);
    const inbox = writable === "writable" && full ? `not writable: ${full}` : writable;
    // Another policy lets Redis drop acknowledged webhooks when memory fills. Unknown: not held against it.
    const evicts = policy !== undefined && policy !== "noeviction";
    const ready = redisUp && databaseUp && inbox === "writable" && !evicts;
    // Degraded is still ready: webhooks never touch PostgreSQL, and a balancer must keep sending them.
    const degraded = databaseUp ? (databaseHealth?.degraded() ?? null) : null;
    res.status(ready ? 200 : 503).json({
      status: ready ? (degraded ? "degraded" : "ready") : "unavailable",
      redis: !redisUp ? "down" : evicts ? `maxmemory-policy is ${policy}, needs noeviction` : "up",
      postgres: databaseUp ? (degraded ?? "up") : "down",
      inbox,
    });
  });
  return router;
}
