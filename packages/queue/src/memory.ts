// Redis's memory against its maxmemory. Under `noeviction` a full Redis refuses every write: the
// API's adds, and the worker's too (taking a job writes its lock), so the worker could not drain
// what fills it. The API therefore stops taking webhooks at a share of maxmemory below the limit
// (WEBHOOK_REDIS_MEMORY_MAX_PERCENT), which leaves the worker room to drain and memory to free.
import { sharedReading } from "@mailstate/runtime";
import { detached } from "@mailstate/tracing";
import { isCluster, type RedisClient } from "./redis.ts";

export interface NodeMemory {
  /** host:port of the node. */
  node: string;
  /** INFO memory's used_memory, in bytes. */
  used: number;
  /** INFO memory's maxmemory, in bytes; 0 means no limit. */
  max: number;
}

/** used_memory and maxmemory of each master (one Redis: one); NaN where INFO does not say. */
async function redisMemory(redis: RedisClient): Promise<NodeMemory[]> {
  const nodes = isCluster(redis) ? redis.nodes("master") : [redis];
  return Promise.all(
    nodes.map(async (node) => {
      const info = await node.info("memory");
      const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, "m").exec(info)?.[1] ?? Number.NaN);
      return {
        node: `${node.options.host ?? ""}:${node.options.port ?? ""}`,
        used: field("used_memory"),
        max: field("maxmemory"),
      };
    }),
  );
}

export interface MemoryGuard {
  /**
   * Why writes should stop now (a master past the share of its maxmemory), or null: the last
   * reading, at once, never waiting on Redis; a reading older than `refreshMs` starts a new one.
   */
  full(): string | null;
  /** A new reading, and its verdict (for /readyz). */
  refresh(): Promise<string | null>;
  /** A new reading of each master (the metrics' gauges); undefined when Redis did not answer in time. */
  read(): Promise<NodeMemory[] | undefined>;
}

/**
 * Reads INFO memory at most every `refreshMs` (one reading shared by every caller meanwhile). A
 * Redis that does not answer INFO, or has no maxmemory, is never called full here: a Redis that is
 * down or stalled fails the write itself, within the webhook's enqueue timeout.
 */
export function createMemoryGuard(
  redis: RedisClient,
  maxPercent: number,
  { refreshMs = 50, timeoutMs = 1_000 }: { refreshMs?: number; timeoutMs?: number } = {},
): MemoryGuard {
  const read = sharedReading(() => redisMemory(redis), timeoutMs, "reading Redis's memory");
  let verdict: string | null = null;
  let readAt = 0;
  const verdictOf = (nodes: NodeMemory[] | undefined): string | null => {
    for (const { node, used, max } of nodes ?? []) {
      if (!(max > 0) || !Number.isFinite(used)) continue;
      const percent = (used / max) * 100;
      if (percent >= maxPercent)
        return `Redis ${node} holds ${percent.toFixed(0)}% of its maxmemory, past ${maxPercent}%: webhooks wait until the worker drains it`;
    }
    return null;
  };
  const fresh = async () => {
    readAt = Date.now();
    const nodes = await read();
    verdict = verdictOf(nodes);
    return nodes;
  };
  const refresh = async () => {
    await fresh();
    return verdict;
  };
  return {
    full() {
      if (maxPercent >= 100) return null;
      // Outside the trace of the request that happens to start the reading (it serves every caller).
      if (Date.now() - readAt >= refreshMs) void detached(refresh);
      return verdict;
    },
    refresh: () => (maxPercent >= 100 ? Promise.resolve(null) : refresh()),
    read: fresh,
  };
}
