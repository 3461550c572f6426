// Suppressions per tenant end to end, on the real API and worker, keys made with the ops CLI and
// webhooks signed as Resend signs them: in tenant scope a bounce suppresses for its tenant only and
// the admin key's list for everyone, with an audit trail of who changed what; in global scope one
// list for every tenant.
import { randomUUID } from "node:crypto";
import { type MailstateStack, mailstateSystem } from "@mailstate/api/testing";
import { createResendStandin, type ResendStandin } from "@mailstate/resend-standin";
import { createMailstate } from "@mailstate/sdk";
import { basicAuth, resendEvent, startStack, waitUntil } from "@mailstate/test-support";
import { runMailstate } from "@mailstate/worker/testing";
import { Resend } from "resend";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { as, type Caller, type CreatedKey, createKey, send, startTenants } from "./tenant-fixtures.ts";

describe("SUPPRESSION_SCOPE=tenant: a list per tenant, and the admin key's list for every tenant", () => {
  let stack: MailstateStack;
  let acme: CreatedKey;
  let globex: CreatedKey;
  let admin: CreatedKey;
  let asAcme: Caller;
  let asGlobex: Caller;
  let asAdmin: Caller;
  let standin: ResendStandin;
  /** A send of acme's, recorded with its key: the email whose bounce the first test posts. */
  let acmeNotification: { id: string; resendEmailId: string; to: string };

  beforeAll(async () => {
    ({ stack, acme, globex, admin, asAcme, asGlobex, asAdmin } = await startTenants("e2e_tenant_suppressions"));
    standin = await createResendStandin();
    const to = `${randomUUID()}@tenants.test`;
    const recorded = await asAcme("POST", "/v1/notifications", { ...send(to), resendEmailId: randomUUID() });
    expect(recorded.status).toBe(201);
    acmeNotification = {
      id: recorded.body.notification.id,
      resendEmailId: recorded.body.notification.resendEmailId,
      to,
    };
  });
  afterAll(async () => {
    await stack?.close();
    await standin?.close();
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
