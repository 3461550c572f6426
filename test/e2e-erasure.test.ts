// Erasure end to end (DELETE /v1/recipients/:email, `mailstate erase`): the real API and worker on
// PostgreSQL and Redis. A recipient is given everything mailstate can hold about an address, then
// erased; every table of the database and every key under the test's Redis prefix is read back.
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type MailstateStack, mailstateSystem } from "@mailstate/api/testing";
import { addressForms, apiKeys, deadLetters, erasedAddressLabel } from "@mailstate/db";
import { type Answer, newSvixId, resendEvent, startStack, waitUntil } from "@mailstate/test-support";
import { type RunningWorkers, runMailstate } from "@mailstate/worker/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** `_` and `%` would be LIKE wildcards, `+` is encoded as %2B: an address that catches a missing escape. */
const TARGET = "Era_se%1+Tag@Example.COM";
const target = "era_se%1+tag@example.com";
/** What `era_se%1…` would match if `_` were a wildcard: it must survive every erase of TARGET. */
const decoy = "eraXse%1+tag@example.com";

let stack: MailstateStack;
let worker: RunningWorkers;
let receiver: Server;
type Caller = (method: string, path: string, body?: unknown) => Promise<Answer>;
let asAcme: Caller;
let asGlobex: Caller;

/** A batch job that holds an event of the address and one of a bystander. */
const batchJobId = `batch-${randomUUID()}`;
const bystanderSvixId = newSvixId();
const bystanderEvent = resendEvent("email.delivered", randomUUID(), 9, "bystander@example.com");

const recipientPath = (address: string, query = "") => `/v1/recipients/${encodeURIComponent(address)}${query}`;

/** Every table of the public schema whose rows mention any form of the address: table → rows. */
async function tablesMentioning(address: string): Promise<Record<string, number>> {
  const patterns = addressForms(address).map((form) => `%${form.replace(/[\\%_]/g, "\\$&")}%`);
  const { rows: tables } = await stack.sql.query<{ name: string }>(
    "SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
  );
  const found: Record<string, number> = {};
  for (const { name } of tables) {
    const { rows } = await stack.sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${name} t WHERE t::text ILIKE ANY($1::text[])`,
      [patterns],
    );
    if ((rows[0]?.n ?? 0) > 0) found[name] = rows[0]?.n ?? 0;
  }
  return found;
}

/** Every key under the test's prefix whose name or value (string, hash, list, set, zset, stream) mentions the address. */
async function redisKeysMentioning(address: string): Promise<string[]> {
  const forms = addressForms(address);
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await stack.redis.scan(cursor, "MATCH", `${stack.prefix}*`, "COUNT", 1_000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== "0");
  const mentioning: string[] = [];
  for (const key of keys) {
    const type = await stack.redis.type(key);
    const value =
      type === "string"
        ? await stack.redis.get(key)
        : type === "hash"
          ? await stack.redis.hgetall(key)
          : type === "list"
            ? await stack.redis.lrange(key, 0, -1)
            : type === "set"
              ? await stack.redis.smembers(key)
              : type === "zset"
                ? await stack.redis.zrange(key, "0", "-1")
                : type === "stream"
                  ? await stack.redis.xrange(key, "-", "+")
                  : null;
    const text = `${key}\n${JSON.stringify(value)}`.toLowerCase();
    if (forms.some((form) => text.includes(form))) mentioning.push(`${key} (${type})`);
  }
  return mentioning;
}

async function record(caller: Caller, to: string): Promise<{ id: string; emailId: string }> {
  const emailId = randomUUID();
  const answer = await caller("POST", "/v1/notifications", {
    to,
    from: "Acme <hello@acme.test>",
    subject: "Welcome",
    resendEmailId: emailId,
  });
  expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  return { id: answer.body.notification.id, emailId };
}

const click = (link: string) => ({
  click: { ipAddress: "203.0.113.9", link, timestamp: "2026-11-22T10:00:04.000Z", userAgent: "Mozilla/5.0" },
});

beforeAll(async () => {
  stack = await startStack("e2e_erasure", mailstateSystem, {
    env: { OUTBOUND_ALLOW_PRIVATE: "true", OUTBOUND_RELAY_INTERVAL_MS: "100" },
  });
  worker = await stack.startWorker();
  // An application's outbound endpoint: answers 204 to every message.
  receiver = createServer((_req, res) => res.writeHead(204).end());
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const [acmeKey, globexKey] = await Promise.all(
    ["acme", "globex"].map(async (tenant) => (await apiKeys.create(stack.db, { tenant, name: tenant })).key),
  );
  asAcme = (method, path, body) => stack.call(method, path, body, { authorization: `Bearer ${acmeKey}` });
  asGlobex = (method, path, body) => stack.call(method, path, body, { authorization: `Bearer ${globexKey}` });
});
afterAll(async () => {
  await stack?.close();
  await new Promise((resolve) => receiver?.close(resolve));
});

describe("DELETE /v1/recipients/:email: everything about an address, erased", () => {
  let acmeSend: { id: string; emailId: string };
  let globexSend: { id: string; emailId: string };
  let otherSend: { id: string; emailId: string };
  const parkedEmailId = randomUUID();
  const decoyEmailId = randomUUID();
  const unsubscribe = `https://acme.test/unsubscribe?email=${encodeURIComponent(target)}&list=news`;

  it("setup: notifications of two tenants, sent, delivered, opened, clicked (a link carrying the address URL-encoded), a click on another notification's link with it, a parked event and a soft bounce, a dead letter, a suppression (audited, and sent to an outbound endpoint), a delayed inbox job", async () => {
    const endpoint = await stack.call("POST", "/v1/webhook-endpoints", {
      url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
      events: ["notification.state_changed", "suppression.created", "suppression.removed"],
    });
    expect(endpoint.status).toBe(201);

    acmeSend = await record(asAcme, TARGET);
    globexSend = await record(asGlobex, target);
    otherSend = await record(asAcme, "other@example.com");
    await stack.postWebhook(resendEvent("email.sent", acmeSend.emailId, 1, target));
    await stack.postWebhook(resendEvent("email.delivered", acmeSend.emailId, 2, target));
    await stack.postWebhook(resendEvent("email.opened", acmeSend.emailId, 3, target));
    await stack.postWebhook(resendEvent("email.clicked", acmeSend.emailId, 4, target, click(unsubscribe)));
    await stack.postWebhook(resendEvent("email.sent", globexSend.emailId, 1, target));
    await stack.postWebhook(
      resendEvent("email.clicked", otherSend.emailId, 4, "other@example.com", click(unsubscribe)),
    );
    // No notification carries these: logged unmatched, and parked in Redis.
    await stack.postWebhook(resendEvent("email.sent", parkedEmailId, 1, target));
    const transient = { bounce: { type: "Transient", subType: "MailboxFull", message: "452 mailbox full" } };
    await stack.postWebhook(resendEvent("email.bounced", parkedEmailId, 5, target, transient));
    await stack.postWebhook(resendEvent("email.sent", decoyEmailId, 1, decoy));
    await stack.drained();

    const suppressed = await stack.call("POST", "/v1/suppressions", { email: TARGET, note: "asked by phone" });
    expect(suppressed.status).toBe(201);
    await deadLetters.record(stack.sql, {
      svixId: newSvixId(),
      body: resendEvent("email.delivered", randomUUID(), 6, target),
      receivedAt: new Date(),
      cause: "permanent_error",
      error: "invalid input syntax",
      errorCode: "22P02",
      attempts: 1,
    });
    // A retry waiting in the inbox (a webhook whose first attempt failed).
    const retrying = resendEvent("email.delivered", randomUUID(), 7, target);
    await stack.queues.inbox.add(
      "inbox.reconcile",
      { svixId: newSvixId(), receivedAt: new Date().toISOString(), event: retrying },
      { delay: 3_600_000, jobId: `event-${randomUUID()}` },
    );
    // A batch job holding a retry of the address's and a bystander's event: only the address's leaves it.
    await stack.queues.inbox.add(
      "inbox.batch",
      {
        events: [
          {
            svixId: newSvixId(),
            receivedAt: new Date().toISOString(),
            event: resendEvent("email.delivered", randomUUID(), 8, target),
          },
          { svixId: bystanderSvixId, receivedAt: new Date().toISOString(), event: bystanderEvent },
        ],
      },
      { delay: 3_600_000, jobId: batchJobId },
    );
    await waitUntil(
      "the parked job, the soft bounce and the outbound messages",
      async () => {
        const parked = await stack.queues.unmatched.getJob(`unmatched-${parkedEmailId}`);
        const { rows } = await stack.sql.query<{ counters: number; outbound: number }>(
          `SELECT (SELECT count(*)::int FROM soft_bounce_counters WHERE email = $1) AS counters,
                  (SELECT count(*)::int FROM outbound_messages WHERE status = 'delivered' AND ordering_key IN ($1, $2)) AS outbound`,
          [target, acmeSend.id],
        );
        return parked && rows[0]?.counters === 1 && (rows[0]?.outbound ?? 0) >= 2;
      },
      15_000,
    );
    // Every table that holds the address before: the erase has to reach each.
    expect(Object.keys(await tablesMentioning(target)).sort()).toEqual(
      expect.arrayContaining([
        "audit_log",
        "dead_letters",
        "delivery_events",
        "engagement_events",
        "notifications",
        "outbound_messages",
        "soft_bounce_counters",
        "suppressions",
      ]),
    );
    expect((await redisKeysMentioning(target)).length).toBeGreaterThan(0);
  });

  it("acme's key, the address as written (`Era_se%1+Tag@Example.COM`) → 200 with the normalised address; acme's notification and its events go, globex's to the same address stays, unattached events stay", async () => {
    const answer = await asAcme("DELETE", recipientPath(TARGET));
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body).toMatchObject({
      email: target,
      tenant: "acme",
      erased: {
        notifications: 1,
        engagementEvents: 2,
        unattachedEvents: 0,
        deadLetters: 0,
        softBounceCounters: 0,
        auditEntries: 1,
        parkedJobs: 0,
        inboxJobs: 0,
      },
    });
    expect(answer.body.erased.deliveryEvents).toBeGreaterThanOrEqual(2);
    expect(answer.body.erased.clickLinks).toBeGreaterThanOrEqual(1);
    expect(answer.body.erased.outboundMessages).toBeGreaterThanOrEqual(1);
    expect((await asAcme("GET", `/v1/notifications/${acmeSend.id}`)).status).toBe(404);
    expect((await asGlobex("GET", `/v1/notifications/${globexSend.id}`)).status).toBe(200);
    // The other notification's click keeps its count, and its link loses the query string.
    const { rows: links } = await stack.sql.query<{ link: string | null }>(
      "SELECT link FROM engagement_events WHERE notification_id = $1",
      [otherSend.id],
    );
    expect(links).toEqual([{ link: "https://acme.test/unsubscribe" }]);
    const { rows: parked } = await stack.sql.query("SELECT 1 FROM delivery_events WHERE email_id = $1", [
      parkedEmailId,
    ]);
    expect(parked).toHaveLength(2);
  });

  it("globex's key naming acme → 403 problem+json, nothing erased", async () => {
    const answer = await asGlobex("DELETE", recipientPath(target, "?tenant=acme"));
    expect(answer.status).toBe(403);
    expect(answer.contentType).toContain("application/problem+json");
    expect((await asGlobex("GET", `/v1/notifications/${globexSend.id}`)).status).toBe(200);
  });

  it("an admin key with ?tenant=globex → globex's notification goes, the unattached events still stay", async () => {
    const answer = await stack.call("DELETE", recipientPath(target, "?tenant=globex"));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      email: target,
      tenant: "globex",
      erased: { notifications: 1, unattachedEvents: 0 },
    });
    expect((await asGlobex("GET", `/v1/notifications/${globexSend.id}`)).status).toBe(404);
  });

  it("an admin key, no tenant → the parked events, the dead letter, the soft bounce, the outbound message, the parked and inbox jobs go (a batch job loses the address's event and keeps a bystander's); then the address is in no table but suppressions, and in no Redis key", async () => {
    const answer = await stack.call("DELETE", recipientPath(target));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      email: target,
      tenant: null,
      erased: {
        notifications: 0,
        unattachedEvents: 2,
        deadLetters: 1,
        softBounceCounters: 1,
        parkedJobs: 1,
        inboxJobs: 1,
        inboxEvents: 1,
      },
    });
    // The batch job stays, with the bystander's event alone.
    expect((await stack.queues.inbox.getJob(batchJobId))?.data.events).toEqual([
      { svixId: bystanderSvixId, receivedAt: expect.any(String), event: bystanderEvent },
    ]);
    // It was delayed an hour: out of the way of the tests below, which wait for the inbox to drain.
    await stack.queues.inbox.remove(batchJobId);
    expect(answer.body.erased.outboundMessages).toBeGreaterThanOrEqual(1);

    expect(await tablesMentioning(target)).toEqual({ suppressions: 1 });
    expect(await redisKeysMentioning(target)).toEqual([]);
    // Still suppressed: never mailed again.
    expect((await stack.call("GET", `/v1/suppressions/${encodeURIComponent(target)}`)).status).toBe(200);
    // The decoy (what an unescaped `_` would match) is untouched.
    const { rows: decoyRows } = await stack.sql.query("SELECT 1 FROM delivery_events WHERE email_id = $1", [
      decoyEmailId,
    ]);
    expect(decoyRows).toHaveLength(1);
    // The audit log: the three erasures under the address's hash, with their counts and keys; never the address.
    const { rows: audit } = await stack.sql.query<{
      action: string;
      email: string;
      tenant: string | null;
      detail: { notifications: number };
    }>("SELECT action, email, tenant, detail FROM audit_log WHERE action = 'recipient.erased' ORDER BY id");
    expect(audit.map((row) => [row.email, row.tenant, row.detail.notifications])).toEqual([
      [erasedAddressLabel(target), "acme", 1],
      [erasedAddressLabel(target), "globex", 1],
      [erasedAddressLabel(target), null, 0],
    ]);
    expect(erasedAddressLabel(target)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it("the same address again → 200, every count 0", async () => {
    const answer = await stack.call("DELETE", recipientPath(target));
    expect(answer.status).toBe(200);
    expect(Object.entries(answer.body.erased).filter(([, count]) => count !== 0)).toEqual([]);
  });
});

describe("DELETE /v1/recipients/:email: bad input", () => {
  it("an address nobody ever mailed → 200 with the normalised address and zero counts", async () => {
    const answer = await stack.call("DELETE", recipientPath("  Nobody@Nowhere.test "));
    expect(answer.status).toBe(200);
    expect(answer.body.email).toBe("nobody@nowhere.test");
    expect(Object.values(answer.body.erased)).toEqual(Object.values(answer.body.erased).map(() => 0));
  });

  it("`not-an-address` → 400 problem+json validation_failed naming email", async () => {
    const answer = await stack.call("DELETE", recipientPath("not-an-address"));
    expect(answer.status).toBe(400);
    expect(answer.contentType).toContain("application/problem+json");
    expect(answer.body).toMatchObject({ type: "https://mailstate.dev/problems/validation-failed" });
    expect(answer.body.errors[0]).toMatchObject({ location: "params", path: "email" });
  });

  it("no Authorization header → 401 problem+json", async () => {
    const answer = await stack.call("DELETE", recipientPath(target), undefined, {});
    expect(answer.status).toBe(401);
    expect(answer.body.type).toBe("https://mailstate.dev/problems/unauthorized");
  });
});

describe("a late webhook of an erased email", () => {
  it("after erasing late+b@example.com, its email.delivered and a Permanent bounce come → no event, no notification comes back; the bounce still suppresses it", async () => {
    const address = "late+b@example.com";
    const send = await record(stack.call.bind(stack), address);
    await stack.postWebhook(resendEvent("email.sent", send.emailId, 1, address));
    await stack.drained();
    const erased = await stack.call("DELETE", recipientPath(address));
    expect(erased.body.erased).toMatchObject({ notifications: 1, deliveryEvents: 1 });

    const permanent = { bounce: { type: "Permanent", subType: "General", message: "550 5.1.1 user unknown" } };
    await stack.postWebhook(resendEvent("email.delivered", send.emailId, 2, address));
    await stack.postWebhook(resendEvent("email.bounced", send.emailId, 3, address, permanent));
    await stack.drained();

    const { rows: events } = await stack.sql.query("SELECT 1 FROM delivery_events WHERE email_id = $1", [send.emailId]);
    expect(events).toEqual([]);
    const outcomes = (await worker.metrics.events.get()).values;
    expect(outcomes.find((value) => value.labels.outcome === "erased")?.value).toBe(2);
    expect(await stack.queues.unmatched.getJob(`unmatched-${send.emailId}`)).toBeUndefined();
    const suppression = await stack.call("GET", `/v1/suppressions/${encodeURIComponent(address)}`);
    expect(suppression.status).toBe(200);
    expect(suppression.body.reason).toBe("hard_bounce");
    // The new suppression is announced like any other (suppression.created to the outbound endpoint).
    expect(await tablesMentioning(address)).toEqual({ outbound_messages: 1, suppressions: 1 });
    const { rows: messages } = await stack.sql.query(
      "SELECT event_type FROM outbound_messages WHERE ordering_key = $1",
      [address],
    );
    expect(messages).toEqual([{ event_type: "suppression.created" }]);
  });
});

describe("pnpm mailstate erase", () => {
  it("erase <email> --json → exit 0, the report as the last line; the text form lists the counts; a malformed address → exit 64", async () => {
    const address = "cli@example.com";
    const send = await record(stack.call.bind(stack), address);
    await stack.postWebhook(resendEvent("email.sent", send.emailId, 1, address));
    await stack.drained();

    const run = await runMailstate(stack, "erase", "CLI@Example.com", "--json");
    expect(run, run.stderr).toMatchObject({ code: 0 });
    const report = JSON.parse(run.stdout.split("\n").at(-1) ?? "");
    expect(report).toMatchObject({ email: address, tenant: null, erased: { notifications: 1, deliveryEvents: 1 } });
    expect(await tablesMentioning(address)).toEqual({});

    const text = await runMailstate(stack, "erase", address, "--tenant", "acme");
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`erased ${address} within tenant acme:`);
    expect(text.stdout).toMatch(/notifications\s+0/);

    const bad = await runMailstate(stack, "erase", "not-an-address");
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain("<email>: must be an email address");
  });
});
