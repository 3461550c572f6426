import { randomBytes } from "node:crypto";

export function testRedisUrl(): string {
  return process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
}

/** A BullMQ prefix no other test file shares; hash-tagged like production's. */
export function testQueuePrefix(label = "t"): string {
  return `{mailstate-test-${label}-${randomBytes(4).toString("hex")}}`;
}

/** What `MEMORY USAGE` and `SCAN` need of a Redis client (ioredis fits). */
interface RedisLike {
  scan(cursor: string, match: "MATCH", pattern: string, count: "COUNT", n: number): Promise<[string, string[]]>;
  memory(subcommand: "USAGE", key: string): Promise<number | null>;
}

/**
 * The bytes Redis holds for every key under a BullMQ prefix: the sum of `MEMORY USAGE` over them.
 * Unlike INFO's used_memory, it counts this prefix only, whatever else shares the server.
 */
export async function prefixMemory(redis: RedisLike, prefix: string): Promise<{ keys: number; bytes: number }> {
  let cursor = "0";
  let keys = 0;
  let bytes = 0;
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1_000);
    cursor = next;
    keys += batch.length;
    const sizes = await Promise.all(batch.map((key) => redis.memory("USAGE", key)));
    bytes += sizes.reduce<number>((sum, size) => sum + (size ?? 0), 0);
  } while (cursor !== "0");
  return { keys, bytes };
}
