// Tenants end to end: API keys made with the ops CLI, the real API and worker on PostgreSQL and
// Redis, webhooks signed as Resend signs them. Walls between two tenants, an admin key that sees
// both, suppressions in both scopes, the audit trail, revocation, and the per-key rate limit.
import { randomUUID } from "node:crypto";
import { type MailstateStack, mailstateSystem } from "@mailstate/api/testing";
import { createResendStandin, type ResendStandin } from "@mailstate/resend-standin";
import { createMailstate } from "@mailstate/sdk";
import {
  type Answer,
  type ApiClient,
  basicAuth,
  freePort,
  OPS_ENV,
  resendEvent,
  startStack,
  testQueuePrefix,
  waitUntil,
} from "@mailstate/test-support";
import { runMailstate } from "@mailstate/worker/testing";
import { Resend } from "resend";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

interface CreatedKey {
  id: string;
  key: string;
  tenant: string | null;
  name: string | null;
}

/** `keys create … --json`: its last line. */
async function createKey(stack: MailstateStack, ...flags: string[]): Promise<CreatedKey> {
  const run = await runMailstate(stack, "keys", "create", ...flags, "--json");
  expect(run, run.stderr).toMatchObject({ code: 0 });
  return JSON.parse(run.stdout.split("\n").at(-1) ?? "");
}

type Caller = (method: string, path: string, body?: unknown) => Promise<Answer>;

/** Calls to this API with this key. */
const as =
  (api: ApiClient, key: string): Caller =>
  (method, path, body) =>
    api.call(method, path, body, { authorization: `Bearer ${key}` });

const send = (to: string) => ({ to, from: "Acme <hello@acme.test>", subject: "Hi" });

describe("SUPPRESSION_SCOPE=tenant: two tenants' keys made with the CLI, and an admin key", () => {
  let stack: MailstateStack;
  let standin: ResendStandin;
  let acme: CreatedKey;
  let globex: CreatedKey;
  let admin: CreatedKey;
  let asAcme: Caller;
  let asGlobex: Caller;
  let asAdmin: Caller;
  let acmeNotification: { id: string; resendEmailId: string; to: string };

  beforeAll(async () => {
    stack = await startStack("e2e_tenants", mailstateSystem, { env: { SUPPRESSION_SCOPE: "tenant", ...OPS_ENV } });
    await stack.startWorker();
    standin = await createResendStandin();
    acme = await createKey(stack, "--tenant", "acme", "--name", "acme-billing");
    globex = await createKey(stack, "--tenant", "globex");
    admin = await createKey(stack, "--admin", "--name", "platform");
    asAcme = as(stack, acme.key);
    asGlobex = as(stack, globex.key);
    asAdmin = as(stack, admin.key);
  });
  afterAll(async () => {
    await stack?.close();
    await standin?.close();
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

  it("a hard bounce of acme's email → suppressed for acme only: acme's check and SDK send refuse it; globex's check says no, its GET and DELETE → 404, its SDK send goes out", async () => {
    const { id, resendEmailId, to } = acmeNotification;
    await stack.postWebhook(resendEvent("email.bounced", resendEmailId, 5, to));
    await waitUntil(
      "acme's notification bounced",
      async () => {
        const answer = await asAcme("GET", `/v1/notifications/${id}`);
        return answer.body.state === "bounced";
      },
      10_000,
    );

    const acmeCheck = await asAcme("POST", "/v1/suppressions/check", { emails: [to] });
    expect(acmeCheck.body.suppressed).toMatchObject([{ email: to, suppressed: true, reason: "hard_bounce" }]);
    const acmeRow = await asAcme("GET", `/v1/suppressions/${to}`);
    expect(acmeRow.body).toMatchObject({ email: to, tenant: "acme", reason: "hard_bounce", history: [] });

    const globexCheck = await asGlobex("POST", "/v1/suppressions/check", { emails: [to] });
    expect(globexCheck.body).toEqual({
      data: [{ email: to, suppressed: false, reason: null, since: null }],
      suppressed: [],
    });
    expect((await asGlobex("GET", `/v1/suppressions/${to}`)).status).toBe(404);
    expect((await asGlobex("DELETE", `/v1/suppressions/${to}`)).status).toBe(404);
    expect((await asGlobex("GET", "/v1/suppressions")).body.data).toEqual([]);
    expect((await asAcme("GET", "/v1/suppressions")).body.data.map((row: { email: string }) => row.email)).toEqual([
      to,
    ]);

    // The SDK's send path checks with the key's tenant.
    const resend = new Resend("re_test_key", { baseUrl: standin.url });
    const email = { from: "Acme <hello@acme.test>", to, subject: "Again", html: "<p>x</p>" };
    const refused = await createMailstate({ baseUrl: stack.baseUrl, apiKey: acme.key }).send(resend, email);
    expect(refused).toMatchObject({ status: "suppressed", suppressed: [{ email: to, reason: "hard_bounce" }] });
    const sent = await createMailstate({ baseUrl: stack.baseUrl, apiKey: globex.key }).send(resend, email);
    expect(sent).toMatchObject({ status: "sent", warnings: [] });
    // An admin key sending for acme is refused too; for no tenant, it goes out.
    const adminSdk = createMailstate({ baseUrl: stack.baseUrl, apiKey: admin.key });
    expect((await adminSdk.send(resend, email, { tenant: "acme" })).status).toBe("suppressed");
    expect((await adminSdk.send(resend, email)).status).toBe("sent");
    // The admin key reads it by naming the tenant.
    expect((await asAdmin("GET", `/v1/suppressions/${to}?tenant=acme`)).body.tenant).toBe("acme");
    expect((await asAdmin("GET", `/v1/suppressions/${to}`)).status).toBe(404);
  });

  it("the admin key suppresses with no tenant → every tenant's sends obey it; globex may not remove it (403), the admin key may", async () => {
    const to = `${randomUUID()}@tenants.test`;
    expect((await asAdmin("POST", "/v1/suppressions", { email: to, note: "legal hold" })).status).toBe(201);
    for (const as of [asAcme, asGlobex]) {
      const check = await as("POST", "/v1/suppressions/check", { emails: [to] });
      expect(check.body.suppressed).toMatchObject([{ email: to, reason: "manual" }]);
    }
    const refused = await asGlobex("DELETE", `/v1/suppressions/${to}`);
    expect([refused.status, refused.body.type]).toEqual([403, "https://mailstate.dev/problems/tenant-forbidden"]);
    expect((await asAdmin("DELETE", `/v1/suppressions/${to}`)).status).toBe(204);
    expect((await asGlobex("POST", "/v1/suppressions/check", { emails: [to] })).body.suppressed).toEqual([]);
  });

  it("audit: acme adds an address by hand and removes it → GET shows who and when (also after removal, in the 404); the support page shows the key's name", async () => {
    const to = `${randomUUID()}@tenants.test`;
    const added = await asAcme("POST", "/v1/suppressions", { email: to, note: "asked by phone" });
    expect(added.status).toBe(201);
    const read = await asAcme("GET", `/v1/suppressions/${to}`);
    expect(read.body.history).toEqual([
      {
        action: "added",
        at: expect.any(String),
        tenant: "acme",
        by: { keyId: acme.id, label: "acme-billing" },
        note: "asked by phone",
      },
    ]);
    expect(Math.abs(Date.parse(read.body.history[0].at) - Date.now())).toBeLessThan(10_000);
    // globex sees neither the row nor its history.
    const hidden = await asGlobex("GET", `/v1/suppressions/${to}`);
    expect([hidden.status, hidden.body.history]).toEqual([404, undefined]);

    expect((await asAcme("DELETE", `/v1/suppressions/${to}`)).status).toBe(204);
    const gone = await asAcme("GET", `/v1/suppressions/${to}`);
    expect(gone.status).toBe(404);
    expect(
      gone.body.history.map((entry: { action: string; by: { keyId: string } }) => [entry.action, entry.by.keyId]),
    ).toEqual([
      ["removed", acme.id],
      ["added", acme.id],
    ]);

    // A recorded notification to it: its support page lists the changes with the key's name.
    expect((await asAcme("POST", "/v1/suppressions", { email: to })).status).toBe(201);
    const recorded = await asAcme("POST", "/v1/notifications", send(to));
    const page = await fetch(`${stack.baseUrl}/support/notifications/${recorded.body.notification.id}`, {
      headers: { authorization: basicAuth() },
    });
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(html.match(/(added|removed) by <strong>acme-billing<\/strong>/g)).toEqual([
      "added by <strong>acme-billing</strong>",
      "removed by <strong>acme-billing</strong>",
      "added by <strong>acme-billing</strong>",
    ]);
    expect(html).toContain("list of acme");
    // The support pages see every tenant and filter by one.
    const filtered = await fetch(`${stack.baseUrl}/support?tenant=globex`, { headers: { authorization: basicAuth() } });
    const filteredHtml = await filtered.text();
    expect(filteredHtml).toContain("of tenant <strong>globex</strong>");
    expect(filteredHtml).not.toContain(recorded.body.notification.id);
    const everyone = await (
      await fetch(`${stack.baseUrl}/support`, { headers: { authorization: basicAuth() } })
    ).text();
    expect(everyone).toContain(recorded.body.notification.id);
  });

  it("keys revoke → the key answers 401 problem+json within one second, and the revocation is in the audit log", async () => {
    const victim = await createKey(stack, "--tenant", "globex", "--name", "to-revoke");
    const asVictim = as(stack, victim.key);
    // Warm: the key is in the lookup cache when it is revoked.
    expect((await asVictim("GET", "/v1/notifications")).status).toBe(200);
    const run = await runMailstate(stack, "keys", "revoke", victim.id);
    expect(run).toMatchObject({ code: 0 });
    const revokedAt = Date.now();
    let answer: Answer | undefined;
    while (Date.now() - revokedAt < 3_000) {
      answer = await asVictim("GET", "/v1/notifications");
      if (answer.status === 401) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
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

  it("rate limit 2/s with a burst of 3, shared by two APIs through Redis: 12 requests at once → 5 to 7 pass, the rest 429 with Retry-After; globex is not held back; after Retry-After acme passes again", async () => {
    // A prefix of their own: the counts of the requests before, at the default limits, stay apart.
    const limits = { API_RATE_LIMIT_RPS: "2", API_RATE_LIMIT_BURST: "3", QUEUE_PREFIX: testQueuePrefix("rl") };
    const [one, two] = await Promise.all([stack.startApi(limits), stack.startApi(limits)]);
    // Until each API's Redis connection is up: before that, requests are counted in its memory.
    for (const target of [one, two]) {
      await waitUntil(
        "the API's /readyz to answer 200",
        async () => (await fetch(`${target.baseUrl}/readyz`)).status === 200,
        10_000,
      );
    }
    const [first, second] = [as(one, acme.key), as(two, acme.key)];
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, index) => (index % 2 === 0 ? first : second)("GET", "/v1/notifications?limit=1")),
    );
    const passed = answers.filter((answer) => answer.status === 200).length;
    const limited = answers.filter((answer) => answer.status === 429);
    // 2 a second plus 3 in reserve; 7 if the 12 straddle a second's boundary.
    expect(passed).toBeGreaterThanOrEqual(5);
    expect(passed).toBeLessThanOrEqual(7);
    expect(limited.length).toBe(12 - passed);
    for (const answer of limited) {
      expect(answer.contentType).toBe("application/problem+json; charset=utf-8");
      expect(answer.body.type).toBe("https://mailstate.dev/problems/rate-limited");
      expect(Number(answer.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    }
    expect((await as(one, globex.key)("GET", "/v1/notifications?limit=1")).status).toBe(200);

    await new Promise((resolve) => setTimeout(resolve, Number(limited[0]?.headers.get("retry-after") ?? 1) * 1_000));
    expect((await first("GET", "/v1/notifications?limit=1")).status).toBe(200);

    // The SDK waits out Retry-After: 8 calls in a row all succeed, though only 2 a second pass.
    const sdk = createMailstate({ baseUrl: two.baseUrl, apiKey: globex.key });
    const started = Date.now();
    for (let call = 0; call < 8; call += 1) await sdk.list({ limit: 1 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    // One that will not wait gets the 429 as an error, with the wait the API asked for.
    const impatient = createMailstate({ baseUrl: two.baseUrl, apiKey: globex.key, rateLimitRetries: 0 });
    const errors = await Promise.all(
      Array.from({ length: 8 }, () =>
        impatient.list({ limit: 1 }).then(
          () => null,
          (error: unknown) => error,
        ),
      ),
    );
    expect(errors.find((error) => error !== null)).toMatchObject({
      code: "rate_limited",
      status: 429,
      retryAfterMs: 1_000,
    });
  });

  /** `count` single records with `key`, started at `rate` a second (open loop): the statuses seen, and how many of each. */
  async function recordAtRate(key: string, count: number, rate: number): Promise<Record<string, number>> {
    const call = as(stack, key);
    const started = performance.now();
    const statuses = await Promise.all(
      Array.from({ length: count }, async (_, index) => {
        const wait = started + (index * 1_000) / rate - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        const answer = await call("POST", "/v1/notifications", send(`${randomUUID()}@limits.test`));
        return answer.status;
      }),
    );
    const counts: Record<string, number> = {};
    for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
    return counts;
  }

  it("input: 2,000 single records at 1,000/s from an admin key of API_KEYS, default limits → 2,000 × 201, no 429 (admin keys are not limited unless API_RATE_LIMIT_ADMIN_RPS is set)", async () => {
    expect(await recordAtRate(stack.apiKey, 2_000, 1_000)).toEqual({ 201: 2_000 });
  });

  it("input: 2,000 single records at 1,000/s from a tenant key, default limits (1,000/s, a reserve of 10,000) → 2,000 × 201, no 429", async () => {
    const campaign = await createKey(stack, "--tenant", "campaign");
    expect(await recordAtRate(campaign.key, 2_000, 1_000)).toEqual({ 201: 2_000 });
  });

  it("input: API_RATE_LIMIT_ADMIN_RPS=2 with API_RATE_LIMIT_BURST=0, 12 requests at once from an admin key → 2 or 4 pass, the rest 429 with Retry-After; a tenant key is held to API_RATE_LIMIT_RPS, not to the admin's", async () => {
    const limited = await stack.startApi({
      API_RATE_LIMIT_ADMIN_RPS: "2",
      API_RATE_LIMIT_BURST: "0",
      QUEUE_PREFIX: testQueuePrefix("rla"),
    });
    await waitUntil(
      "the API's /readyz to answer 200",
      async () => (await fetch(`${limited.baseUrl}/readyz`)).status === 200,
      10_000,
    );
    const answers = await Promise.all(
      Array.from({ length: 12 }, () => as(limited, stack.apiKey)("GET", "/v1/notifications?limit=1")),
    );
    const passed = answers.filter((answer) => answer.status === 200).length;
    // 2 a second, no reserve; 4 if the 12 straddle a second's boundary.
    expect(passed).toBeGreaterThanOrEqual(2);
    expect(passed).toBeLessThanOrEqual(4);
    const refused = answers.filter((answer) => answer.status === 429);
    expect(refused).toHaveLength(12 - passed);
    expect(Number(refused[0]?.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    const tenant = await Promise.all(
      Array.from({ length: 12 }, () => as(limited, acme.key)("GET", "/v1/notifications?limit=1")),
    );
    expect(tenant.map((answer) => answer.status)).toEqual(tenant.map(() => 200));
  });

  it("input: 2,000 requests with random unknown keys (50 at a time) while a real tenant key records 200 sends one by one → every random one 401, every real one 201, none 429", async () => {
    const real = await createKey(stack, "--tenant", "flooded");
    let flooding = true;
    const flood = (async () => {
      const statuses: number[] = [];
      for (let wave = 0; wave < 40; wave += 1) {
        const answers = await Promise.all(
          Array.from({ length: 50 }, () =>
            as(stack, `msk_${randomUUID().replaceAll("-", "")}`)("GET", "/v1/notifications"),
          ),
        );
        statuses.push(...answers.map((answer) => answer.status));
      }
      flooding = false;
      return statuses;
    })();
    const latencies: number[] = [];
    const realStatuses: number[] = [];
    for (let i = 0; i < 200; i += 1) {
      const started = performance.now();
      const answer = await as(stack, real.key)("POST", "/v1/notifications", send(`${randomUUID()}@flooded.test`));
      latencies.push(performance.now() - started);
      realStatuses.push(answer.status);
    }
    const duringFlood = flooding;
    const floodStatuses = await flood;
    latencies.sort((a, b) => a - b);
    console.log(
      `RANDOM KEYS: ${floodStatuses.length} random → ${[...new Set(floodStatuses)].join(",")}; real client p50 ${latencies[100]?.toFixed(1)} ms p99 ${latencies[198]?.toFixed(1)} ms, flood still running at its end: ${duringFlood}`,
    );
    expect(floodStatuses).toEqual(floodStatuses.map(() => 401));
    expect(realStatuses).toEqual(realStatuses.map(() => 201));
  });

  it("rate limit with REDIS_URL where nothing listens: /v1 stays open and the limit holds, counted in the API's memory", async () => {
    const deadRedis = `redis://127.0.0.1:${await freePort()}`;
    const lonely = await stack.startApi({ API_RATE_LIMIT_RPS: "2", API_RATE_LIMIT_BURST: "3", REDIS_URL: deadRedis });
    const answers = await Promise.all(
      Array.from({ length: 12 }, () => as(lonely, acme.key)("GET", "/v1/notifications?limit=1")),
    );
    const passed = answers.filter((answer) => answer.status === 200).length;
    expect(passed).toBeGreaterThanOrEqual(5);
    expect(passed).toBeLessThanOrEqual(7);
    expect(answers.filter((answer) => answer.status === 429)).toHaveLength(12 - passed);
  });
});

describe("SUPPRESSION_SCOPE=global (the default): one list for every tenant", () => {
  let stack: MailstateStack;
  let acme: CreatedKey;
  let globex: CreatedKey;

  beforeAll(async () => {
    stack = await startStack("e2e_tenants_global", mailstateSystem);
    await stack.startWorker();
    acme = await createKey(stack, "--tenant", "acme");
    globex = await createKey(stack, "--tenant", "globex");
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("a hard bounce of acme's email suppresses the address for globex too; globex's key may remove it, and the audit log says so", async () => {
    const asAcme = as(stack, acme.key);
    const asGlobex = as(stack, globex.key);
    const to = `${randomUUID()}@global.test`;
    const recorded = await asAcme("POST", "/v1/notifications", { ...send(to), resendEmailId: randomUUID() });
    const { id, resendEmailId } = recorded.body.notification;
    await stack.postWebhook(resendEvent("email.bounced", resendEmailId, 5, to));
    await waitUntil(
      "the bounce applied",
      async () => (await asAcme("GET", `/v1/notifications/${id}`)).body.state === "bounced",
      10_000,
    );

    const check = await asGlobex("POST", "/v1/suppressions/check", { emails: [to] });
    expect(check.body.suppressed).toMatchObject([{ email: to, reason: "hard_bounce" }]);
    expect((await asGlobex("GET", `/v1/suppressions/${to}`)).body).toMatchObject({
      tenant: null,
      reason: "hard_bounce",
    });
    // Walls on notifications hold in either scope.
    expect((await asGlobex("GET", `/v1/notifications/${id}`)).status).toBe(404);

    expect((await asGlobex("DELETE", `/v1/suppressions/${to}`)).status).toBe(204);
    const gone = await asAcme("GET", `/v1/suppressions/${to}`);
    expect(gone.status).toBe(404);
    expect(gone.body.history).toMatchObject([{ action: "removed", tenant: null, by: { keyId: globex.id } }]);
  });

  it("the CLI: suppressions remove --tenant in global scope → exit 64 (there is one list); without it → removed and audited as the CLI", async () => {
    const to = `${randomUUID()}@global.test`;
    await as(stack, acme.key)("POST", "/v1/suppressions", { email: to });
    const refused = await runMailstate(stack, "suppressions", "remove", to, "--tenant", "acme");
    expect(refused.code).toBe(64);
    expect(refused.stderr.split("\n")[0]).toBe(
      "mailstate: --tenant: SUPPRESSION_SCOPE is global, so there is one list for every tenant",
    );
    expect(await runMailstate(stack, "suppressions", "remove", to)).toMatchObject({
      code: 0,
      stdout: `removed ${to} from the suppression list`,
    });
    const gone = await as(stack, acme.key)("GET", `/v1/suppressions/${to}`);
    expect(gone.body.history.map((entry: { by: { label: string } }) => entry.by.label)[0]).toMatch(/^ops CLI \(/);
  });
});
