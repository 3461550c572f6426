// Tenants end to end: API keys made with the ops CLI, the real API and worker on PostgreSQL and
// Redis. Walls between two tenants and an admin key that sees both: reads, lists, bodies naming
// another tenant, idempotency keys and Resend ids per tenant, and revocation. Suppressions per tenant:
// e2e-tenant-suppressions.test.ts; the per-key rate limit: e2e-tenant-rate-limits.test.ts.
import { randomUUID } from "node:crypto";
import type { MailstateStack } from "@mailstate/api/testing";
import { type Answer, waitUntil } from "@mailstate/test-support";
import { runMailstate } from "@mailstate/worker/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { as, type Caller, type CreatedKey, createKey, send, startTenants } from "./tenant-fixtures.ts";

describe("SUPPRESSION_SCOPE=tenant: two tenants' keys made with the CLI, and an admin key", () => {
  let stack: MailstateStack;
  let acme: CreatedKey;
  let globex: CreatedKey;
  let admin: CreatedKey;
  let asAcme: Caller;
  let asGlobex: Caller;
  let asAdmin: Caller;
  let acmeNotification: { id: string; resendEmailId: string; to: string };

  beforeAll(async () => {
    ({ stack, acme, globex, admin, asAcme, asGlobex, asAdmin } = await startTenants("e2e_tenants"));
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("keys create --json → last line {id, key, tenant, name}; keys list shows ids, tenants, names and last use, never a key", async () => {
    expect(acme).toMatchObject({ tenant: "acme", name: "acme-billing" });
    expect(globex).toMatchObject({ tenant: "globex", name: null });
    expect(admin).toMatchObject({ tenant: null, name: "platform" });
    expect(Object.keys(acme)).toEqual(["id", "key", "tenant", "name"]);
    expect((await asAcme("GET", "/v1/notifications")).status).toBe(200);

    const list = await runMailstate(stack, "keys", "list", "--json");
    expect(list.code).toBe(0);
    const keys = JSON.parse(list.stdout);
    expect(keys.map((key: CreatedKey) => [key.id, key.tenant, key.name])).toEqual([
      [acme.id, "acme", "acme-billing"],
      [globex.id, "globex", null],
      [admin.id, null, "platform"],
    ]);
    // Used once just now: its last use is noted (written without waiting for it).
    await waitUntil(
      "acme's last use noted",
      async () => {
        const rows = JSON.parse((await runMailstate(stack, "keys", "list", "--json")).stdout);
        return rows.find((row: { id: string }) => row.id === acme.id)?.lastUsedAt !== null;
      },
      10_000,
    );
    const text = await runMailstate(stack, "keys", "list");
    for (const secret of [acme.key, globex.key, admin.key]) {
      expect(list.stdout).not.toContain(secret);
      expect(text.stdout).not.toContain(secret);
    }
    expect(text.stdout).toContain("(admin)");
    // The key itself is in neither the table nor the audit log.
    const stored = await stack.sql.query("SELECT key_hash FROM api_keys UNION ALL SELECT detail::text FROM audit_log");
    expect(JSON.stringify(stored.rows)).not.toContain(acme.key.slice(4));
    const created = await stack.sql.query("SELECT action, actor, key_id FROM audit_log ORDER BY id");
    expect(created.rows.map((row) => [row.action, row.key_id])).toEqual([
      ["key.created", acme.id],
      ["key.created", globex.id],
      ["key.created", admin.id],
    ]);
    expect(created.rows[0].actor).toMatch(/^ops CLI \(/);
  });

  it("acme records with no tenant in the body → the notification is acme's; every read of it with globex's key → 404, with acme's and the admin's → 200", async () => {
    const to = `${randomUUID()}@tenants.test`;
    const recorded = await asAcme("POST", "/v1/notifications", { ...send(to), resendEmailId: randomUUID() });
    expect(recorded.status).toBe(201);
    expect(recorded.body.notification.tenant).toBe("acme");
    const { id, resendEmailId } = recorded.body.notification;
    acmeNotification = { id, resendEmailId, to };

    for (const path of [`/v1/notifications/${id}`, `/v1/notifications/${id}/timeline`]) {
      const refused = await asGlobex("GET", path);
      expect([path, refused.status, refused.contentType]).toEqual([
        path,
        404,
        "application/problem+json; charset=utf-8",
      ]);
      expect(refused.body.detail).toBe(`no notification has id ${id}`);
      expect((await asAcme("GET", path)).status).toBe(200);
      expect((await asAdmin("GET", path)).status).toBe(200);
    }
    // An unknown id answers the same: existence is not leaked.
    const unknown = randomUUID();
    expect((await asGlobex("GET", `/v1/notifications/${unknown}`)).body.detail).toBe(
      `no notification has id ${unknown}`,
    );

    // Attaching or reporting on acme's notification with globex's key: not found, and nothing changes.
    expect(
      (await asGlobex("PATCH", `/v1/notifications/${id}`, { sendError: { name: "x", message: "y" } })).status,
    ).toBe(404);
    const batch = await asGlobex("PATCH", "/v1/notifications/batch", {
      notifications: [{ id, sendError: { name: "x", message: "y" } }],
    });
    expect(batch.status).toBe(200);
    expect(batch.body.data).toEqual([
      { id, status: "not_found", notification: null, detail: `no notification has id ${id}` },
    ]);
    expect((await asAcme("GET", `/v1/notifications/${id}`)).body.sendError).toBeNull();
  });

  it("lists: globex's key lists only globex's, ?tenant=acme → 403; the admin key lists both, and ?tenant=acme only acme's", async () => {
    const mine = await asGlobex("POST", "/v1/notifications", send(`${randomUUID()}@tenants.test`));
    expect(mine.body.notification.tenant).toBe("globex");

    const listed = await asGlobex("GET", "/v1/notifications?limit=100");
    expect(listed.body.data.map((row: { tenant: string }) => row.tenant)).toEqual(["globex"]);
    const byEmail = await asGlobex("GET", `/v1/notifications?email=${encodeURIComponent(acmeNotification.to)}`);
    expect(byEmail.body.data).toEqual([]);
    const spoofed = await asGlobex("GET", "/v1/notifications?tenant=acme");
    expect([spoofed.status, spoofed.body.type]).toEqual([403, "https://mailstate.dev/problems/tenant-forbidden"]);

    const all = await asAdmin("GET", "/v1/notifications?limit=100");
    expect(new Set(all.body.data.map((row: { tenant: string }) => row.tenant))).toEqual(new Set(["acme", "globex"]));
    const acmeOnly = await asAdmin("GET", "/v1/notifications?tenant=acme&limit=100");
    expect(acmeOnly.body.data.map((row: { id: string }) => row.id)).toEqual([acmeNotification.id]);
  });

  it("a body naming another tenant → 403 (record, batch, check, add); the batch records nothing; the admin key may name a tenant", async () => {
    const to = `${randomUUID()}@tenants.test`;
    const spoof = await asGlobex("POST", "/v1/notifications", { ...send(to), tenant: "acme" });
    expect([spoof.status, spoof.body.detail]).toEqual([
      403,
      "this API key belongs to tenant globex and cannot act for tenant acme",
    ]);
    const batch = await asGlobex("POST", "/v1/notifications/batch", {
      notifications: [send(to), { ...send(to), tenant: "acme" }],
    });
    expect(batch.status).toBe(403);
    expect((await asAdmin("GET", `/v1/notifications?email=${encodeURIComponent(to)}`)).body.data).toEqual([]);
    expect((await asGlobex("POST", "/v1/suppressions/check", { emails: [to], tenant: "acme" })).status).toBe(403);
    expect((await asGlobex("POST", "/v1/suppressions", { email: to, tenant: "acme" })).status).toBe(403);
    expect((await asGlobex("GET", `/v1/suppressions/${to}?tenant=acme`)).status).toBe(403);
    // Naming its own tenant is fine.
    expect((await asGlobex("POST", "/v1/notifications", { ...send(to), tenant: "globex" })).status).toBe(201);

    const forAcme = await asAdmin("POST", "/v1/notifications", { ...send(to), tenant: "acme" });
    expect([forAcme.status, forAcme.body.notification.tenant]).toEqual([201, "acme"]);
    const forNobody = await asAdmin("POST", "/v1/notifications", send(to));
    expect(forNobody.body.notification.tenant).toBeNull();
  });

  it("idempotency keys are per tenant: acme and globex record one key → two notifications, each its own; each again → 200 with its own; the admin key with no tenant → a third", async () => {
    const idempotencyKey = `order-${randomUUID()}`;
    const body = { ...send(acmeNotification.to), idempotencyKey };
    const mine = await asAcme("POST", "/v1/notifications", body);
    const theirs = await asGlobex("POST", "/v1/notifications", body);
    expect([mine.status, mine.body.notification.tenant]).toEqual([201, "acme"]);
    expect([theirs.status, theirs.body.notification.tenant]).toEqual([201, "globex"]);
    expect(theirs.body.notification.id).not.toBe(mine.body.notification.id);
    const [mineAgain, theirsAgain] = await Promise.all([
      asAcme("POST", "/v1/notifications", body),
      asGlobex("POST", "/v1/notifications", body),
    ]);
    expect([mineAgain.status, mineAgain.body.notification.id]).toEqual([200, mine.body.notification.id]);
    expect([theirsAgain.status, theirsAgain.body.notification.id]).toEqual([200, theirs.body.notification.id]);
    const none = await asAdmin("POST", "/v1/notifications", body);
    expect([none.status, none.body.notification.tenant]).toEqual([201, null]);
    expect((await asAdmin("POST", "/v1/notifications", body)).body.notification.id).toBe(none.body.notification.id);
    // In one batch too: the same key for two tenants is two notifications.
    const batchKey = `batch-${randomUUID()}`;
    const batch = await asAdmin("POST", "/v1/notifications/batch", {
      notifications: [
        { ...body, idempotencyKey: batchKey, tenant: "acme" },
        { ...body, idempotencyKey: batchKey, tenant: "globex" },
        { ...body, idempotencyKey: batchKey, tenant: "acme" },
      ],
    });
    const [a, g, again] = batch.body.data;
    expect([a.created, g.created, again.created]).toEqual([true, true, false]);
    expect(again.notification.id).toBe(a.notification.id);
    expect(g.notification.id).not.toBe(a.notification.id);
  });

  it("acme's resendEmailId recorded again with globex's key → 409, and acme's notification is not in the answer", async () => {
    const answer = await asGlobex("POST", "/v1/notifications", {
      ...send(acmeNotification.to),
      resendEmailId: acmeNotification.resendEmailId,
    });
    expect(answer.status).toBe(409);
    expect(JSON.stringify(answer.body)).not.toContain(acmeNotification.id);
    expect(answer.body.detail).toBe(
      `resendEmailId ${acmeNotification.resendEmailId} is already recorded for another tenant`,
    );
  });

  it("keys revoke → the key answers 401 problem+json within one second, and the revocation is in the audit log", async () => {
    const victim = await createKey(stack, "--tenant", "globex", "--name", "to-revoke");
    const asVictim = as(stack, victim.key);
    // Warm: the key is in the lookup cache when it is revoked.
    expect((await asVictim("GET", "/v1/notifications")).status).toBe(200);
    const run = await runMailstate(stack, "keys", "revoke", victim.id);
    expect(run).toMatchObject({ code: 0 });
    const revokedAt = Date.now();
    let last: Answer | undefined;
    const answer = await waitUntil(
      "the revoked key to answer 401",
      async () => {
        last = await asVictim("GET", "/v1/notifications");
        return last.status === 401 ? last : undefined;
      },
      3_000,
      { intervalMs: 20, detail: () => `last answer ${last?.status}` },
    );
    const refusedAfter = Date.now() - revokedAt;
    expect(answer?.status).toBe(401);
    expect(refusedAfter).toBeLessThan(1_000);
    expect(answer?.contentType).toBe("application/problem+json; charset=utf-8");
    expect(answer?.body.detail).toBe("the API key is not valid (unknown or revoked)");

    const log = await stack.sql.query("SELECT action, actor FROM audit_log WHERE key_id = $1 ORDER BY id", [victim.id]);
    expect(log.rows.map((row) => row.action)).toEqual(["key.created", "key.revoked"]);
    expect(await runMailstate(stack, "keys", "revoke", victim.id)).toMatchObject({ code: 0 });
    expect(await runMailstate(stack, "keys", "revoke", randomUUID())).toMatchObject({ code: 1 });
    expect((await as(stack, "msk_never_issued_0000000000000000")("GET", "/v1/notifications")).status).toBe(401);
  });
});
