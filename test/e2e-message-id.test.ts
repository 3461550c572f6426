// Finding an email by the Message-ID of its headers (issue 29): the worker keeps the Message-ID of
// the first applied event that carries one, and GET /v1/notifications?messageId= finds it with or
// without the angle brackets, inside the key's tenant, through its index. Real API, worker,
// PostgreSQL and Redis; webhooks signed as Resend signs them.
import { randomUUID } from "node:crypto";
import { type MailstateStack, mailstateSystem } from "@mailstate/api/testing";
import { apiKeys } from "@mailstate/db";
import { type Answer, deliverWebhook, resendEvent, startStack, waitUntil } from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let stack: MailstateStack;
let acmeKey: string;
let asAcme: (path: string) => Promise<Answer>;
let asGlobex: (path: string) => Promise<Answer>;

/** As Amazon SES writes them for Resend: `<…-000000@email.amazonses.com>`. */
const newMessageId = () =>
  `<0102018f${randomUUID().replaceAll("-", "").slice(0, 8)}-${randomUUID()}-000000@email.amazonses.com>`;
const receiptMessageId = newMessageId();
const digestMessageId = newMessageId();
const bare = receiptMessageId.slice(1, -1);
let receiptId: string;
let digestId: string;

const ids = (answer: Answer) => answer.body.data.map((row: { id: string }) => row.id);
const byMessageId = (messageId: string) => `/v1/notifications?messageId=${encodeURIComponent(messageId)}`;

/** Record a send as acme's key, then Resend's sent and delivered events for it, both carrying this Message-ID. */
async function sendAndDeliver(subject: string, messageId: string): Promise<string> {
  const emailId = `re_${randomUUID()}`;
  const recorded = await stack.call(
    "POST",
    "/v1/notifications",
    { to: "ada@example.com", from: "Acme <hello@acme.test>", subject, resendEmailId: emailId },
    { authorization: `Bearer ${acmeKey}` },
  );
  expect(recorded.status).toBe(201);
  const id: string = recorded.body.notification.id;
  await deliverWebhook(
    stack.baseUrl,
    resendEvent("email.sent", emailId, 1, "ada@example.com", { message_id: messageId }),
  );
  await deliverWebhook(
    stack.baseUrl,
    resendEvent("email.delivered", emailId, 3, "ada@example.com", { message_id: messageId }),
  );
  await waitUntil(
    `${subject} delivered`,
    async () => (await stack.call("GET", `/v1/notifications/${id}`)).body.state === "delivered" || undefined,
    10_000,
  );
  return id;
}

beforeAll(async () => {
  stack = await startStack("e2e_message_id", mailstateSystem);
  await stack.startWorker();
  acmeKey = (await apiKeys.create(stack.db, { tenant: "acme", name: "acme" })).key;
  const globexKey = (await apiKeys.create(stack.db, { tenant: "globex", name: "globex" })).key;
  asAcme = (path) => stack.call("GET", path, undefined, { authorization: `Bearer ${acmeKey}` });
  asGlobex = (path) => stack.call("GET", path, undefined, { authorization: `Bearer ${globexKey}` });
  receiptId = await sendAndDeliver("Your receipt", receiptMessageId);
  digestId = await sendAndDeliver("Your digest", digestMessageId);
});
afterAll(async () => {
  await stack?.close();
});

describe("the Message-ID the worker keeps", () => {
  it("input: sent and delivered events carrying `<…@email.amazonses.com>` → notifications.message_id holds it as Resend sent it, brackets included", async () => {
    const row = await stack.db.notification.findUnique({ where: { id: receiptId } });
    expect(row?.messageId).toBe(receiptMessageId);
  });

  it("input: sent with message_id null, then delivered carrying one, then an open carrying another → the delivered event's is kept, and found", async () => {
    const emailId = `re_${randomUUID()}`;
    const [first, later] = [newMessageId(), newMessageId()];
    const recorded = await stack.call("POST", "/v1/notifications", {
      to: "ada@example.com",
      from: "Acme <hello@acme.test>",
      subject: "Your invoice",
      resendEmailId: emailId,
    });
    const id: string = recorded.body.notification.id;
    const stored = async () => (await stack.db.notification.findUnique({ where: { id } }))?.messageId;
    const applied = async (count: number) =>
      waitUntil(
        `${count} events applied`,
        async () =>
          (await stack.call("GET", `/v1/notifications/${id}/timeline`)).body.events.length >= count || undefined,
        10_000,
      );
    await deliverWebhook(stack.baseUrl, resendEvent("email.sent", emailId, 1, "ada@example.com", { message_id: null }));
    await applied(1);
    expect(await stored()).toBeNull();
    await deliverWebhook(
      stack.baseUrl,
      resendEvent("email.delivered", emailId, 3, "ada@example.com", { message_id: first }),
    );
    await applied(2);
    await deliverWebhook(
      stack.baseUrl,
      resendEvent("email.opened", emailId, 9, "ada@example.com", { message_id: later }),
    );
    await applied(3);
    expect(await stored()).toBe(first);
    expect(ids(await stack.call("GET", byMessageId(first)))).toEqual([id]);
    expect(ids(await stack.call("GET", byMessageId(later)))).toEqual([]);
  });
});

describe("GET /v1/notifications?messageId=", () => {
  it("input: the receipt's Message-ID with its angle brackets, without them, and with spaces around → 200 with the receipt alone, each time", async () => {
    for (const messageId of [receiptMessageId, bare, `  ${receiptMessageId} `]) {
      const answer = await asAcme(byMessageId(messageId));
      expect([messageId, answer.status, ids(answer), answer.body.nextCursor]).toEqual([
        messageId,
        200,
        [receiptId],
        null,
      ]);
    }
    expect(ids(await asAcme(byMessageId(digestMessageId)))).toEqual([digestId]);
  });

  it("input: the receipt's Message-ID with another tenant's key → 200 with no rows; with an admin key → the receipt; admin with ?tenant=globex → no rows", async () => {
    const otherTenant = await asGlobex(byMessageId(receiptMessageId));
    expect([otherTenant.status, otherTenant.body]).toEqual([200, { data: [], nextCursor: null }]);
    expect(ids(await asGlobex(byMessageId(bare)))).toEqual([]);
    expect(ids(await stack.call("GET", byMessageId(bare)))).toEqual([receiptId]);
    expect(ids(await stack.call("GET", `${byMessageId(receiptMessageId)}&tenant=globex`))).toEqual([]);
  });

  it("input: messageId with another filter (state=delivered, then state=bounced) → the receipt, then no rows", async () => {
    expect(ids(await asAcme(`${byMessageId(bare)}&state=delivered`))).toEqual([receiptId]);
    expect(ids(await asAcme(`${byMessageId(bare)}&state=bounced`))).toEqual([]);
  });

  it("input: a Message-ID of 998 characters no email has → 200 with no rows", async () => {
    const longest = `<${"a".repeat(998 - "<@x.test>".length)}@x.test>`;
    expect(longest).toHaveLength(998);
    const answer = await asAcme(byMessageId(longest));
    expect([answer.status, answer.body]).toEqual([200, { data: [], nextCursor: null }]);
  });

  it("input: messageId empty, `<>`, 999 characters, with a line break, with a tab, with NUL, given twice → 400 problem+json naming messageId, each", async () => {
    const bad = [
      "messageId=",
      `messageId=${encodeURIComponent("<>")}`,
      `messageId=${"a".repeat(999)}`,
      `messageId=${encodeURIComponent(`${receiptMessageId}\r\n`)}`,
      `messageId=${encodeURIComponent(`<a\t@x.test>`)}`,
      "messageId=%3Ca%00%40x.test%3E",
      `messageId=${encodeURIComponent(bare)}&messageId=${encodeURIComponent(bare)}`,
    ];
    for (const query of bad) {
      const answer = await asAcme(`/v1/notifications?${query}`);
      expect([query.slice(0, 60), answer.status, answer.contentType]).toEqual([
        query.slice(0, 60),
        400,
        expect.stringContaining("application/problem+json"),
      ]);
      expect(answer.body.type).toBe("https://mailstate.dev/problems/validation-failed");
      expect(answer.body.errors.map((error: { path: string }) => error.path)).toContain("messageId");
      expect(answer.body.detail).toContain("messageId");
    }
  });

  it("input: 20,000 more notifications, each with a Message-ID, then messageId=<the receipt's> → the receipt, read through notifications_message_id_key_idx (its scans in pg_stat_user_indexes go up)", async () => {
    await stack.sql.query(
      `INSERT INTO notifications (recipients, "from", subject, tenant, message_id, updated_at)
       SELECT ARRAY['bulk@example.com'], 'hello@acme.test', 'bulk', 'bulk',
              '<bulk-' || n || '-' || $1::text || '@email.amazonses.com>', now()
         FROM generate_series(1, 20000) AS n`,
      [randomUUID()],
    );
    await stack.sql.query("ANALYZE notifications");
    const scans = async () => {
      const { rows } = await stack.sql.query<{ scans: string }>(
        "SELECT idx_scan::text AS scans FROM pg_stat_user_indexes WHERE indexrelname = 'notifications_message_id_key_idx'",
      );
      return Number(rows[0]?.scans ?? Number.NaN);
    };
    const before = await scans();
    expect(before).not.toBeNaN();
    // A connection reports its counts at its next transaction a second after its last report, or
    // after ten idle seconds: the wait below allows twice that.
    expect(ids(await asAcme(byMessageId(receiptMessageId)))).toEqual([receiptId]);
    await waitUntil(
      "the index's scan count to go up",
      async () => ((await scans()) > before ? true : undefined),
      20_000,
      {
        intervalMs: 250,
        detail: async () => `idx_scan stayed ${await scans()}`,
      },
    );
  });
});
