// Reputation rollups end to end: the real API and worker on PostgreSQL and Redis. A scripted mix of
// webhooks, with redeliveries, events out of order and events that beat their send's record, gives
// exact counts and rates on GET /v1/reputation; `mailstate rebuild` finds them equal to the log,
// finds a corrupted row, and repairs it. Tenant keys see their own tenant only.
import { readFile } from "node:fs/promises";
import { type MailstateStack, mailstateSystem } from "@mailstate/api/testing";
import { reputation } from "@mailstate/db";
import { newSvixId, resendEvent, startStack, waitUntil } from "@mailstate/test-support";
import { runMailstate } from "@mailstate/worker/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let stack: MailstateStack;
beforeAll(async () => {
  stack = await startStack("reputation", mailstateSystem);
  await stack.startWorker();
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

const permanent = { bounce: { type: "Permanent", subType: "General", message: "no such user" } };
const transient = { bounce: { type: "Transient", subType: "MailboxFull", message: "mailbox full" } };

/** Record sends through the API, 100 per call, each with its Resend email id already known. */
async function recordMany(ids: string[], fields: Record<string, string>) {
  for (let i = 0; i < ids.length; i += 100) {
    const items = ids
      .slice(i, i + 100)
      .map((id) => ({ to: `${id}@rep.test`, subject: "Hi", resendEmailId: id, ...fields }));
    const answer = await stack.call("POST", "/v1/notifications/batch", { notifications: items });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  }
}

describe("the scripted mix: 200 sends, 180 delivered of which 3 complain, 12 hard and 8 soft bounces", () => {
  const ids = Array.from({ length: 200 }, (_, i) => `re_rep_${String(i).padStart(3, "0")}`);

  beforeAll(async () => {
    await recordMany(ids, { from: "Acme News <News@Acme.TEST>", tenant: "acme", category: "digest" });
    const events: { svixId: string; body: object }[] = [];
    const push = (body: object) => events.push({ svixId: newSvixId(), body });
    ids.forEach((id, i) => {
      const to = `${id}@rep.test`;
      // Out of order: the outcome is delivered before email.sent, a complaint before its delivery.
      if (i < 180) push(resendEvent("email.delivered", id, 5, to));
      if (i < 3) push(resendEvent("email.complained", id, 9, to));
      if (i >= 180 && i < 192) push(resendEvent("email.bounced", id, 4, to, permanent));
      if (i >= 192) push(resendEvent("email.bounced", id, 4, to, transient));
      push(resendEvent("email.sent", id, 1, to));
    });
    await stack.deliverAll(events);
    await stack.drained(60_000);
    // Redelivered: every tenth event again, under new job ids (as Resend retries), in reverse order.
    for (const event of events.filter((_, i) => i % 10 === 0).reverse()) await stack.deliver(event.body, event.svixId);
    // A second hard-bounce webhook and a second complaint for notifications that have one already.
    await stack.deliver(resendEvent("email.bounced", ids[185] as string, 8, `${ids[185]}@rep.test`, permanent));
    await stack.deliver(resendEvent("email.complained", ids[0] as string, 12, `${ids[0]}@rep.test`));
    await stack.drained(30_000);
  }, 120_000);

  it("GET /v1/reputation?tenant=acme → sent 200, delivered 180, bounced 20 (12 hard, 8 soft), complained 3, bounceRate 0.1, complaintRate 3/180", async () => {
    const answer = await stack.call("GET", "/v1/reputation?tenant=acme");
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      window: "24h",
      tenant: "acme",
      category: null,
      fromDomain: null,
      sent: 200,
      delivered: 180,
      bounced: 20,
      hardBounced: 12,
      softBounced: 8,
      complained: 3,
      bounceRate: 0.1,
      complaintRate: 3 / 180,
    });
    // 24 hourly points; every send of the mix was recorded this hour, so the last point holds them all.
    expect(answer.body.series).toHaveLength(24);
    expect(answer.body.series.at(-1)).toMatchObject({ sent: 200, bounced: 20, complained: 3 });
    expect(answer.body.series.slice(0, -1).filter((point: { sent: number }) => point.sent !== 0)).toEqual([]);
  });

  it("filters by category and by from-domain (case-insensitive, `Name <a@b>` read as b): the same figures; another category → zeros with null rates", async () => {
    const byDomain = await stack.call(
      "GET",
      "/v1/reputation?tenant=acme&category=digest&fromDomain=ACME.test&window=7d",
    );
    expect(byDomain.body).toMatchObject({
      window: "7d",
      fromDomain: "acme.test",
      sent: 200,
      bounced: 20,
      complained: 3,
    });
    expect(byDomain.body.series).toHaveLength(7);
    const other = await stack.call("GET", "/v1/reputation?tenant=acme&category=receipts&window=30d");
    expect(other.body).toMatchObject({ sent: 0, delivered: 0, bounceRate: null, complaintRate: null });
    expect(other.body.series).toHaveLength(30);
  });

  it("`mailstate rebuild` finds the rollups equal to the log; a corrupted row is reported (exit 1), and --write restores the exact same rows", async () => {
    const before = await reputation.stored(stack.sql);
    expect(before.length).toBeGreaterThan(0);
    const clean = await runMailstate(stack, "rebuild");
    expect(clean.stdout).toContain("reputation rollup rows: 0 differed");
    expect(clean.code).toBe(0);

    await stack.sql.query("UPDATE reputation_hourly SET sent = sent + 5, complained = 0 WHERE tenant = 'acme'");
    const drifted = await runMailstate(stack, "rebuild");
    expect(drifted.stdout).toContain("reputation rollup rows: 1 differed");
    expect(drifted.code).toBe(1);

    const repaired = await runMailstate(stack, "rebuild", "--write");
    expect(repaired.stdout).toContain("1 differed from the log (repaired)");
    expect(await reputation.stored(stack.sql)).toEqual(before);
    expect(await reputation.recomputed(stack.sql)).toEqual(before);
  });

  it("the migration's backfill (its INSERT … SELECT, run on an emptied table) writes the same rows as rebuild", async () => {
    const before = await reputation.stored(stack.sql);
    const migration = await readFile(
      new URL("../prisma/migrations/20261204100000_reputation_rollups/migration.sql", import.meta.url),
      "utf8",
    );
    const backfill = migration.slice(migration.indexOf('INSERT INTO "reputation_hourly"'));
    expect(backfill).toContain("GROUP BY 1, 2, 3, 4;");
    await stack.sql.query("DELETE FROM reputation_hourly");
    await stack.sql.query(backfill);
    expect(await reputation.stored(stack.sql)).toEqual(before);
  });
});

describe("facts that change: a soft bounce then a hard one, and events that beat their send's record", () => {
  it("a Transient then a Permanent bounce of one notification → hard 1, soft 0 (moved, not counted twice)", async () => {
    await recordMany(["re_rep_move"], { from: "ops@globex.test", tenant: "globex", category: "alerts" });
    await stack.deliver(resendEvent("email.sent", "re_rep_move", 1, "re_rep_move@rep.test"));
    await stack.deliver(resendEvent("email.bounced", "re_rep_move", 2, "re_rep_move@rep.test", transient));
    await stack.drained();
    expect((await stack.call("GET", "/v1/reputation?tenant=globex&category=alerts")).body).toMatchObject({
      sent: 1,
      hardBounced: 0,
      softBounced: 1,
    });
    await stack.deliver(resendEvent("email.bounced", "re_rep_move", 3, "re_rep_move@rep.test", permanent));
    await stack.drained();
    expect((await stack.call("GET", "/v1/reputation?tenant=globex&category=alerts")).body).toMatchObject({
      sent: 1,
      bounced: 1,
      hardBounced: 1,
      softBounced: 0,
      bounceRate: 1,
    });
  });

  it("events parked before their send is recorded count once it is (sent 2, delivered 2, complained 1)", async () => {
    const early = ["re_rep_early1", "re_rep_early2"];
    for (const id of early) {
      await stack.deliver(resendEvent("email.sent", id, 1, `${id}@rep.test`));
      await stack.deliver(resendEvent("email.delivered", id, 2, `${id}@rep.test`));
    }
    await stack.deliver(resendEvent("email.complained", "re_rep_early1", 3, "re_rep_early1@rep.test"));
    await stack.drained();
    expect((await stack.call("GET", "/v1/reputation?tenant=globex&category=late")).body.sent).toBe(0);
    await recordMany(early, { from: "ops@globex.test", tenant: "globex", category: "late" });
    await waitUntil(
      "the parked events to be applied",
      async () => (await stack.call("GET", "/v1/reputation?tenant=globex&category=late")).body.delivered === 2,
      15_000,
    );
    expect((await stack.call("GET", "/v1/reputation?tenant=globex&category=late")).body).toMatchObject({
      sent: 2,
      delivered: 2,
      complained: 1,
      complaintRate: 0.5,
    });
    const rebuilt = await runMailstate(stack, "rebuild");
    expect(rebuilt.stdout).toContain("reputation rollup rows: 0 differed");
  });
});

describe("who sees what, and bad parameters", () => {
  it("an admin key naming no tenant sees every tenant's sends together (acme's 200 + globex's 3)", async () => {
    const answer = await stack.call("GET", "/v1/reputation");
    expect(answer.body).toMatchObject({ tenant: null, sent: 203 });
  });

  it("a tenant key sees its own tenant by default; naming another tenant answers 403 tenant_forbidden", async () => {
    const run = await runMailstate(stack, "keys", "create", "--tenant", "globex", "--json");
    expect(run.code, run.stderr).toBe(0);
    const { key } = JSON.parse(run.stdout.split("\n").at(-1) ?? "");
    const own = await stack.call("GET", "/v1/reputation", undefined, { authorization: `Bearer ${key}` });
    expect(own.body).toMatchObject({ tenant: "globex", sent: 3 });
    const other = await stack.call("GET", "/v1/reputation?tenant=acme", undefined, { authorization: `Bearer ${key}` });
    expect(other.status).toBe(403);
    expect(other.contentType).toContain("application/problem+json");
    expect(other.body.detail).toContain("cannot act for tenant acme");
  });

  it("window=1y → 400 naming window; a 300-character category → 400 naming category", async () => {
    const badWindow = await stack.call("GET", "/v1/reputation?window=1y");
    expect(badWindow.status).toBe(400);
    expect(badWindow.contentType).toContain("application/problem+json");
    expect(badWindow.body.detail).toBe("window: must be one of 24h, 7d, 30d");
    const long = await stack.call("GET", `/v1/reputation?category=${"c".repeat(300)}`);
    expect(long.status).toBe(400);
    expect(long.body.errors[0]).toMatchObject({ location: "query", path: "category" });
  });

  it("the OpenAPI document describes GET /v1/reputation and its Reputation schema", async () => {
    const doc = (await stack.call("GET", "/openapi.json")).body;
    expect(doc.paths["/v1/reputation"].get.parameters.map((p: { name: string }) => p.name)).toEqual([
      "tenant",
      "category",
      "fromDomain",
      "window",
    ]);
    expect(Object.keys(doc.components.schemas.Reputation.properties)).toEqual(
      expect.arrayContaining(["bounceRate", "complaintRate", "series"]),
    );
  });
});
