// api_keys: the /v1 keys kept as data, by their SHA-256 (the key itself is shown once, at creation,
// and never stored). The API looks a presented key up by its hash; the ops CLI creates, lists and
// revokes keys.
import { createHash, randomBytes } from "node:crypto";
import type { DbClient } from "../client.ts";
import { execute, type Runner } from "../sql.ts";

/** A key as stored: never the key. `tenant` null is an admin key. */
export interface ApiKeyRow {
  id: string;
  tenant: string | null;
  name: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/** What a key is looked up by: SHA-256, hex. The key has 256 random bits, so a fast hash is enough. */
export function hashApiKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

/** A fresh key: `msk_` then 32 random bytes in base64url (47 characters in all). */
export function newApiKey(): string {
  return `msk_${randomBytes(32).toString("base64url")}`;
}

const ROW = { id: true, tenant: true, name: true, createdAt: true, lastUsedAt: true, revokedAt: true } as const;

export const apiKeys = {
  /** Store a new key's hash; answers the row and the key, which is not kept anywhere. */
  async create(db: DbClient, { tenant, name }: { tenant: string | null; name: string | null }) {
    const key = newApiKey();
    const row: ApiKeyRow = await db.apiKey.create({ data: { keyHash: hashApiKey(key), tenant, name }, select: ROW });
    return { row, key };
  },

  /** The key with this hash, revoked or not; one lookup on the unique index. */
  findByHash(db: DbClient, keyHash: string): Promise<ApiKeyRow | null> {
    return db.apiKey.findUnique({ where: { keyHash }, select: ROW });
  },

  findById(db: DbClient, id: string): Promise<ApiKeyRow | null> {
    return db.apiKey.findUnique({ where: { id }, select: ROW });
  },

  /** Every key, oldest first (revoked ones too: they say who did what in the audit log). */
  list(db: DbClient): Promise<ApiKeyRow[]> {
    return db.apiKey.findMany({ orderBy: [{ createdAt: "asc" }, { id: "asc" }], select: ROW });
  },

  /** Revoke a key; answers it as it is now, or null when no key has the id. Revoking twice keeps the first time. */
  async revoke(db: DbClient, id: string): Promise<ApiKeyRow | null> {
    await db.apiKey.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: new Date() } });
    return apiKeys.findById(db, id);
  },

  /**
   * Note that these keys were used now. Rows touched within `precisionMs` are left alone, so that
   * several API processes writing the same keys make one write per key per interval, not per request.
   */
  touch(runner: Runner, ids: string[], precisionMs: number): Promise<number> {
    if (ids.length === 0) return Promise.resolve(0);
    return execute(
      runner,
      `UPDATE api_keys SET last_used_at = now()
        WHERE id = ANY($1::uuid[])
          AND (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => $2::double precision / 1000))`,
      [ids, precisionMs],
    );
  },
};
