// API keys and the audit log, through the functions production calls.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiKeys, auditLog, type Db, hashApiKey } from "./index.ts";
import { openTestClients } from "./test-clients.ts";

let db: Db;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ db, close } = await openTestClients("db_api_keys"));
});
afterAll(() => close?.());

describe("the tables, through the functions production calls", () => {
  it("api keys: stored as their SHA-256 only, found by it, revoked once; audit entries read by the lists' rule", async () => {
    const { row, key } = await apiKeys.create(db, { tenant: "acme", name: "billing" });
    expect(key).toMatch(/^msk_[A-Za-z0-9_-]{43}$/);
    const stored = await db.$queryRaw<{ key_hash: string }[]>`SELECT key_hash FROM api_keys WHERE id = ${row.id}::uuid`;
    expect(stored).toEqual([{ key_hash: hashApiKey(key) }]);
    expect(JSON.stringify(await db.$queryRaw`SELECT * FROM api_keys`)).not.toContain(key);
    expect(await apiKeys.findByHash(db, hashApiKey(key))).toMatchObject({
      id: row.id,
      tenant: "acme",
      revokedAt: null,
    });
    expect(await apiKeys.findByHash(db, hashApiKey(`${key}x`))).toBeNull();

    expect(await apiKeys.touch(db, [row.id], 60_000)).toBe(1);
    expect(await apiKeys.touch(db, [row.id], 60_000)).toBe(0); // within the minute: no second write
    const revoked = await apiKeys.revoke(db, row.id);
    expect(revoked?.revokedAt).toBeInstanceOf(Date);
    expect((await apiKeys.revoke(db, row.id))?.revokedAt).toEqual(revoked?.revokedAt);
    expect(await apiKeys.revoke(db, "00000000-0000-4000-8000-000000000000")).toBeNull();

    const actor = { keyId: row.id, label: "billing" };
    await auditLog.record(db, { action: "suppression.added", actor, tenant: "acme", email: "audit@example.com" });
    await auditLog.record(db, { action: "suppression.added", actor, tenant: null, email: "audit@example.com" });
    const seen = (tenant: string | null) =>
      auditLog
        .forAddresses(db, ["audit@example.com"], { scope: "tenant", tenant })
        .then((rows) => rows.map((entry) => entry.tenant));
    expect(await seen("acme")).toEqual([null, "acme"]);
    expect(await seen("globex")).toEqual([null]);
  });
});
