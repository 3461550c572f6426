// What support and ops see of events that did not apply: an event its schema rejects is kept and
// shown, marked, on its notification's timeline (JSON and page) and counted in /metrics; `mailstate
// reprocess --status invalid` applies those a newer schema accepts; a dead letter shows on the
// support page's search and in /metrics. Real API, worker, PostgreSQL and Redis.
import { randomUUID } from "node:crypto";
import { type MailstateStack, mailstateSystem } from "@mailstate/api/testing";
import { createSqlPool, notificationReads, type SqlPool, suppressions } from "@mailstate/db";
import {
  basicAuth,
  deliverWebhook,
  OPS_ENV,
  resendEvent,
  startStack,
  testRedisUrl,
  waitUntil,
} from "@mailstate/test-support";
import { runCli } from "@mailstate/worker/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let stack: MailstateStack;
let sql: SqlPool;

beforeAll(async () => {
  stack = await startStack("invalid_dead", mailstateSystem, { env: OPS_ENV });
  await stack.startWorker();
  sql = createSqlPool({ databaseUrl: stack.databaseUrl, poolSize: 2 });
});
afterAll(async () => {
  await sql?.end();
  await stack?.close();
});

async function mailstate(...args: string[]) {
  const out: string[] = [];
  const code = await runCli(
    args,
    {
      DATABASE_URL: stack.databaseUrl,
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: stack.prefix,
    },
    { out: (line) => out.push(line), err: (line) => out.push(line) },
  );
  return { code, output: out.join("\n") };
}

async function page(path: string): Promise<string> {
  const answer = await fetch(`${stack.baseUrl}${path}`, { headers: { authorization: basicAuth() } });
  expect(answer.status).toBe(200);
  return answer.text();
}

async function metric(name: string): Promise<number | undefined> {
  const text = await (await fetch(`${stack.baseUrl}/metrics`)).text();
  const line = text.split("\n").find((row) => row.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(" ")[1]);
}

describe("an event its schema rejects", () => {
  const to = `${randomUUID()}@invalid.test`;
  const emailId = randomUUID();
  let notificationId = "";
  let invalidSvixId = "";

  it("input: a signed email.bounced without bounce.subType → 200, logged invalid; the timeline JSON lists it under invalidEvents with the schema's reason, the state is untouched", async () => {
    const recorded = await stack.call("POST", "/v1/notifications", {
      to: [to],
      from: "hello@acme.test",
      subject: "Welcome",
      resendEmailId: emailId,
    });
    expect(recorded.status).toBe(201);
    notificationId = recorded.body.notification.id;
    await deliverWebhook(stack.baseUrl, resendEvent("email.sent", emailId, 1, to));
    const bounce = resendEvent("email.bounced", emailId, 2, to) as { data: { bounce: Record<string, unknown> } };
    const { subType: _dropped, ...withoutSubType } = bounce.data.bounce;
    invalidSvixId = await deliverWebhook(stack.baseUrl, {
      ...bounce,
      data: { ...bounce.data, bounce: withoutSubType },
    });
    await stack.drained();

    const timeline = await waitUntil(
      "the sent event applied",
      async () => {
        const answer = await stack.call("GET", `/v1/notifications/${notificationId}/timeline`);
        return answer.body.state === "sent" ? answer.body : undefined;
      },
      10_000,
    );
    expect(timeline.events.map((event: { type: string }) => event.type)).toEqual(["email.sent"]);
    expect(timeline.invalidEvents).toEqual([
      {
        svixId: invalidSvixId,
        type: "email.bounced",
        occurredAt: "2026-11-22T10:00:02.000Z",
        receivedAt: expect.any(String),
        problem: expect.stringContaining("data.bounce.subType"),
      },
    ]);
    expect(await suppressions.find(stack.db, to)).toBeNull();
    expect(await metric("mailstate_invalid_events")).toBe(1);
  });

  it("the support page marks it: a section of events mailstate could not read, with its svix id and the reprocess command", async () => {
    const html = await page(`/support/notifications/${notificationId}`);
    expect(html).toContain("Events mailstate could not read");
    expect(html).toContain('<span class="tag invalid">invalid</span>');
    expect(html).toContain(invalidSvixId);
    expect(html).toContain("pnpm mailstate reprocess --status invalid");
  });

  it("input: an invalid row an older mailstate logged (a bounce the schema now accepts) → reprocess applies it: bounced, suppressed; the one still invalid stays, exit 1", async () => {
    const olderSvixId = `msg_${randomUUID()}`;
    const bounce = resendEvent("email.bounced", emailId, 3, to, {
      bounce: { type: "permanent", subType: "General", message: "550 5.1.1 user unknown" },
    });
    await sql.query(
      `INSERT INTO delivery_events (svix_id, type, occurred_at, email_id, payload, status)
       VALUES ($1, 'email.bounced', '2026-11-22T10:00:03Z', $2, $3::jsonb, 'invalid')`,
      [olderSvixId, emailId, JSON.stringify(bounce)],
    );
    const run = await mailstate("reprocess", "--status", "invalid");
    expect(run).toEqual({
      code: 1,
      output: [
        "invalid events checked: 2",
        "reprocessed: 1 (applied 1)",
        "still invalid: 1 (their schema still rejects them)",
      ].join("\n"),
    });
    expect((await notificationReads.findById(stack.db, notificationId))?.state).toBe("bounced");
    expect(await suppressions.find(stack.db, to)).toMatchObject({ reason: "hard_bounce", sourceEventId: olderSvixId });
    const timeline = await stack.call("GET", `/v1/notifications/${notificationId}/timeline`);
    expect(timeline.body.events.map((event: { svixId: string }) => event.svixId)).toContain(olderSvixId);
    expect(timeline.body.invalidEvents.map((event: { svixId: string }) => event.svixId)).toEqual([invalidSvixId]);
    expect(await metric("mailstate_invalid_events")).toBe(1);

    const again = await mailstate("reprocess", "--status", "invalid", "--json");
    expect(JSON.parse(again.output)).toEqual({ checked: 1, reprocessed: 0, outcomes: {}, stillInvalid: 1 });
    expect(await mailstate("reprocess", "--status", "ignored")).toMatchObject({ code: 64 });
  });
});

describe("a dead letter", () => {
  it("input: an event PostgreSQL refuses (a CHECK constraint) → the support search for its email id shows it with the error, /metrics counts it; after the fix and a retry, neither does", async () => {
    const emailId = randomUUID();
    const to = `${randomUUID()}@dead.test`;
    await sql.query(
      `ALTER TABLE delivery_events ADD CONSTRAINT e2e_poison
         CHECK (payload->'data'->>'subject' IS DISTINCT FROM 'poison') NOT VALID`,
    );
    const svixId = await deliverWebhook(
      stack.baseUrl,
      resendEvent("email.delivered", emailId, 1, to, { subject: "poison" }),
    );
    await stack.drained();
    await waitUntil(
      "the dead letter",
      async () => ((await metric("mailstate_dead_letters")) === 1 ? true : undefined),
      10_000,
    );

    const search = await page(`/support?q=${emailId}`);
    expect(search).toContain("Dead letters");
    expect(search).toContain(svixId);
    expect(search).toContain("permanent_error 23514");
    expect(search).toContain("pnpm mailstate dead-letters retry");
    expect(await page(`/support?q=${encodeURIComponent(to)}`)).toContain(svixId);

    await sql.query("ALTER TABLE delivery_events DROP CONSTRAINT e2e_poison");
    expect(await mailstate("dead-letters", "retry", svixId)).toEqual({ code: 0, output: `${svixId}  unmatched` });
    expect(await metric("mailstate_dead_letters")).toBe(0);
    expect(await page(`/support?q=${emailId}`)).toContain("retried: unmatched");
  });
});
