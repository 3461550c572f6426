import { randomBytes } from "node:crypto";

export function testRedisUrl(): string {
  return process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
}

/** A BullMQ prefix no other test file shares; hash-tagged like production's. */
export function testQueuePrefix(label = "t"): string {
  return `{mailstate-test-${label}-${randomBytes(4).toString("hex")}}`;
}
