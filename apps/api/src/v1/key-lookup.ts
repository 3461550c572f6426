// Finding the principal of a presented API key: the keys of API_KEYS (admin keys) in memory, else
// api_keys by the key's SHA-256, one indexed query whose answer (found, revoked or unknown) is kept
// for KEY_CACHE_MS. So recording pays no PostgreSQL query per request, and a revoked key is refused
// within KEY_CACHE_MS. Last use is written at most once per LAST_USE_PRECISION_MS per key.
import { createHash, timingSafeEqual } from "node:crypto";
import { type ApiKeyRow, apiKeys, type Db, hashApiKey } from "@mailstate/db";
import type { Logger } from "@mailstate/runtime";
import type { Principal } from "./principal.ts";

/** How long a lookup is believed: a revoked key is refused within this (the issue asks for one second). */
const KEY_CACHE_MS = 500;
/** Keys (found or not) remembered at once; the oldest goes first. */
const KEY_CACHE_SIZE = 10_000;
/** last_used_at is this precise: one write per key per minute per process, not one per request. */
const LAST_USE_PRECISION_MS = 60_000;

const sha256 = (value: string) => createHash("sha256").update(value, "utf8").digest();

export interface KeyLookup {
  /** The principal of this key, or null when it is unknown or revoked. */
  find(key: string): Promise<Principal | null>;
}

export function createKeyLookup({
  db,
  envKeys,
  logger,
  now = Date.now,
}: {
  db: Db;
  envKeys: readonly string[];
  logger: Logger;
  now?: () => number;
}): KeyLookup {
  const envPrincipals = envKeys.map((key) => {
    const fingerprint = hashApiKey(key).slice(0, 12);
    return {
      digest: sha256(key),
      principal: { keyId: null, tenant: null, label: `API_KEYS sha256:${fingerprint}`, rateKey: `env:${fingerprint}` },
    };
  });
  const cache = new Map<string, { until: number; answer: Promise<ApiKeyRow | null> }>();
  const touchedAt = new Map<string, number>();

  /**
   * Every key of API_KEYS is compared, in constant time over digests of equal length, so the time
   * taken says nothing about how much of a key was right.
   */
  function envPrincipal(presented: Buffer): Principal | null {
    let found: Principal | null = null;
    for (const candidate of envPrincipals) {
      if (timingSafeEqual(presented, candidate.digest)) found = candidate.principal;
    }
    return found;
  }

  /**
   * A stored key is found by its hash through the unique index (and this cache's Map). Neither
   * compares in constant time, and neither needs to: how long the lookup takes can tell only about
   * the SHA-256 of what was presented, and knowing part of a key's hash does not help find the key.
   */
  function storedKey(keyHash: string): Promise<ApiKeyRow | null> {
    const at = now();
    const hit = cache.get(keyHash);
    if (hit && hit.until > at) return hit.answer;
    cache.delete(keyHash);
    if (cache.size >= KEY_CACHE_SIZE) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
    // Concurrent requests with the same key share one query.
    const answer = apiKeys.findByHash(db, keyHash);
    cache.set(keyHash, { until: at + KEY_CACHE_MS, answer });
    // A failed query is not remembered: the next request asks again.
    answer.catch(() => cache.delete(keyHash));
    return answer;
  }

  function noteUse(id: string): void {
    const at = now();
    if (at - (touchedAt.get(id) ?? 0) < LAST_USE_PRECISION_MS) return;
    touchedAt.set(id, at);
    apiKeys.touch(db, [id], LAST_USE_PRECISION_MS).catch((error: unknown) => {
      logger.warn({ err: error instanceof Error ? error.message : String(error) }, "last use of an API key not noted");
    });
  }

  return {
    async find(key) {
      // One hash serves both: hashApiKey is this digest in hex.
      const digest = sha256(key);
      const fromEnv = envPrincipal(digest);
      if (fromEnv) return fromEnv;
      const row = await storedKey(digest.toString("hex"));
      if (!row || row.revokedAt !== null) return null;
      noteUse(row.id);
      return { keyId: row.id, tenant: row.tenant, label: row.name ?? `key ${row.id}`, rateKey: `key:${row.id}` };
    },
  };
}
