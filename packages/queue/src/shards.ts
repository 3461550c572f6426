// The sharded inbox (INBOX_SHARDS): which queue, under which hash tag, each shard is; which shard a
// webhook goes to; and which shard layouts were ever written to, so that workers drain them all.
import { QUEUE_NAMES } from "./catalog.ts";
import type { RedisClient } from "./redis.ts";

export interface InboxShard {
  /** The BullMQ queue name: `inbox` when there is one shard, else `inbox-<index>`. */
  name: string;
  /** The queue's prefix: QUEUE_PREFIX's hash tag with the shard in it, so each shard has a slot of its own. */
  prefix: string;
}

/**
 * Shard `index` of `shards` under QUEUE_PREFIX `prefix`. One shard is today's layout (queue
 * `inbox` under the prefix itself). Several: queue `inbox-<i>` under `{<tag>-inbox-<i>}`, a hash tag
 * of its own, so Redis Cluster puts the shards on different slots (and, with several masters, on
 * different nodes). A prefix without a hash tag (a single Redis only) is kept as it is.
 */
export function inboxShard(prefix: string, shards: number, index: number): InboxShard {
  if (shards === 1) return { name: QUEUE_NAMES.inbox, prefix };
  const name = `${QUEUE_NAMES.inbox}-${index}`;
  const tag = /^\{([^{}]+)\}$/.exec(prefix)?.[1];
  return { name, prefix: tag === undefined ? prefix : `{${tag}-${name}}` };
}

/** Every shard of every layout in `layouts` (shard counts), each once. */
export function inboxShardsOf(prefix: string, layouts: Iterable<number>): InboxShard[] {
  const byKey = new Map<string, InboxShard>();
  for (const shards of layouts) {
    for (let index = 0; index < shards; index += 1) {
      const shard = inboxShard(prefix, shards, index);
      byKey.set(`${shard.prefix}:${shard.name}`, shard);
    }
  }
  return [...byKey.values()];
}

/** Whether a BullMQ queue name is an inbox shard's (`inbox`, `inbox-0`, `inbox-1`…). */
export function isInboxQueueName(name: string): boolean {
  return name === QUEUE_NAMES.inbox || /^inbox-\d+$/.test(name);
}

/**
 * FNV-1a (32 bits) of the key, modulo the shard count: stable across processes, restarts and
 * versions of Node, and cheap on the API's hot path.
 */
export function inboxShardIndex(key: string, shards: number): number {
  if (shards <= 1) return 0;
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i += 1) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shards;
}

/**
 * What an inbox job is routed by: the Resend email id it is about (a replay's `emailId`, an event's
 * `data.email_id`), so all of one email's jobs share a shard; else the event's svix id, so a
 * redelivery lands on the shard, and the job id, of the first delivery.
 */
export function inboxRoutingKey(payload: unknown, fallback: string): string {
  const fields = (payload ?? {}) as { emailId?: unknown; svixId?: unknown; event?: { data?: unknown } };
  if (typeof fields.emailId === "string" && fields.emailId) return fields.emailId;
  const data = fields.event?.data as { email_id?: unknown } | undefined;
  if (typeof data?.email_id === "string" && data.email_id) return data.email_id;
  if (typeof fields.svixId === "string" && fields.svixId) return fields.svixId;
  return fallback;
}

export function inboxShardOfPayload(payload: { svixId: string; event: Record<string, unknown> }, shards: number) {
  return shards <= 1 ? 0 : inboxShardIndex(inboxRoutingKey(payload, payload.svixId), shards);
}

/** The set of shard counts ever written to under a prefix: one key, in the prefix's own slot. */
const layoutsKey = (prefix: string) => `${prefix}:inbox-layouts`;

/** Record that this process writes (or reads) `shards` inbox shards: the API and the workers do at start. */
export async function recordInboxLayout(redis: RedisClient, prefix: string, shards: number): Promise<void> {
  await redis.sadd(layoutsKey(prefix), String(shards));
}

/**
 * Every shard count recorded under the prefix, with `current`: the workers consume the shards of
 * all of them, so the jobs left in the shards of an earlier INBOX_SHARDS drain after a change.
 */
export async function inboxLayoutsInUse(redis: RedisClient, prefix: string, current: number): Promise<number[]> {
  const recorded = (await redis.smembers(layoutsKey(prefix))).map(Number).filter((n) => Number.isInteger(n) && n > 0);
  return [...new Set([current, ...recorded])].sort((a, b) => a - b);
}
