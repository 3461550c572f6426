// A table held by a long migration must not hang anyone (issue 28): the real API process (main.ts,
// its pools with DATABASE_TIMEOUT_MS) and worker, real PostgreSQL and Redis. The notifications table
// is locked ACCESS EXCLUSIVE for 30 s while webhooks and records arrive: webhooks answer 200 at their
// usual latency (they never touch PostgreSQL), every record answers 201 or 503 with Retry-After
// within the bound, /readyz names PostgreSQL as degraded, and once the lock goes every webhook is
// applied by the worker, which backed off and resumed by itself.
import { type MailstateStack, mailstateSystem } from "@mailstate/api/testing";
import { eventFor, newSvixId, signedWebhookHeaders, sleep, startStack, waitUntil } from "@mailstate/test-support";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const LOCK_MS = 30_000;
const BOUND_MS = 5_000;

let stack: MailstateStack;

beforeAll(async () => {
  stack = await startStack("locked_table", mailstateSystem);
  await stack.startWorker();
});
afterAll(async () => {
  await stack?.close();
});

/** Milliseconds a call took, and what it answered. */
async function timed(call: () => Promise<Response>) {
  const started = performance.now();
  const response = await call();
  const text = await response.text();
  return {
    ms: performance.now() - started,
    status: response.status,
    retryAfter: response.headers.get("retry-after"),
    type: response.headers.get("content-type") ?? "",
    text,
  };
}

describe("a table locked for 30 s, as by a long migration", () => {
  it("input: notifications locked ACCESS EXCLUSIVE for 30 s, a webhook every 50 ms and a single record every 200 ms meanwhile (about 560 and 140) → webhooks 200 at their usual latency; each record 201 or 503 + Retry-After within 5 s; /readyz degraded; afterwards records 201 and all 600 webhooks applied", async () => {
    const api = await stack.spawnApi({ DATABASE_TIMEOUT_MS: String(BOUND_MS) });
    const record = (name: string) =>
      timed(() =>
        fetch(`${api.baseUrl}/v1/notifications`, {
          method: "POST",
          headers: { authorization: `Bearer ${api.apiKey}`, "content-type": "application/json" },
          body: JSON.stringify({
            to: `${name}@locked.test`,
            from: "Acme <hello@acme.test>",
            subject: "Hi",
            resendEmailId: `re_${name}`,
          }),
        }),
      );
    // Sends recorded before the lock: the webhooks are theirs.
    const emails = Array.from({ length: 200 }, (_, i) => `lock${i}`);
    for (const email of emails) expect((await record(email)).status).toBe(201);
    const webhook = (emailId: string, type: "email.sent" | "email.delivered" | "email.opened", second: number) => {
      const body = JSON.stringify(eventFor(type, `re_${emailId}`, second));
      const svixId = newSvixId();
      return timed(() =>
        fetch(`${api.baseUrl}/webhooks/resend`, {
          method: "POST",
          headers: signedWebhookHeaders(svixId, body),
          body,
        }),
      );
    };

    // The migration: a transaction that holds the table for LOCK_MS.
    const holder = new pg.Client({ connectionString: stack.databaseUrl });
    await holder.connect();
    await holder.query("BEGIN");
    await holder.query("LOCK TABLE notifications IN ACCESS EXCLUSIVE MODE");
    const lockedAt = Date.now();

    const webhooks: Promise<Awaited<ReturnType<typeof timed>>>[] = [];
    const records: Promise<Awaited<ReturnType<typeof timed>>>[] = [];
    const types = ["email.sent", "email.delivered", "email.opened"] as const;
    let readyz: { status: number; body: { status: string; postgres: string } } | undefined;
    for (let tick = 0; Date.now() - lockedAt < LOCK_MS - 1_000; tick += 1) {
      // Every 50 ms a webhook; every 200 ms a record of a new send.
      const index = tick % 600;
      webhooks.push(
        webhook(emails[index % 200] as string, types[Math.floor(index / 200)] as (typeof types)[number], tick % 60),
      );
      if (tick % 4 === 0) records.push(record(`during${tick}`));
      if (tick === 300) {
        const answer = await fetch(`${api.baseUrl}/readyz`);
        readyz = { status: answer.status, body: (await answer.json()) as { status: string; postgres: string } };
      }
      // The pace is the load under test (a webhook every 50 ms), not a wait for anything.
      await sleep(50);
    }
    const during = { webhooks: await Promise.all(webhooks), records: await Promise.all(records) };
    await holder.query("COMMIT");
    await holder.end();

    const latencies = during.webhooks.map((answer) => answer.ms).sort((a, b) => a - b);
    const p99 = latencies[Math.floor(latencies.length * 0.99)] ?? 0;
    const slowestRecord = Math.max(...during.records.map((answer) => answer.ms));
    const statuses = (answers: { status: number }[]) => {
      const counts: Record<number, number> = {};
      for (const { status } of answers) counts[status] = (counts[status] ?? 0) + 1;
      return counts;
    };
    console.log(
      `LOCKED TABLE: webhooks ${JSON.stringify(statuses(during.webhooks))} p99 ${p99.toFixed(0)} ms; ` +
        `records ${JSON.stringify(statuses(during.records))} slowest ${slowestRecord.toFixed(0)} ms; readyz ${JSON.stringify(readyz)}`,
    );
    expect(during.webhooks.filter((answer) => answer.status !== 200)).toEqual([]);
    expect(p99).toBeLessThan(1_000);
    for (const answer of during.records) {
      expect([201, 503]).toContain(answer.status);
      // The bound, and a second for the answer to travel on a loaded machine.
      expect(answer.ms).toBeLessThan(BOUND_MS + 1_000);
      if (answer.status === 503) {
        expect(answer.type).toContain("application/problem+json");
        expect(JSON.parse(answer.text).type).toBe("https://mailstate.dev/problems/database-unavailable");
        expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1);
      }
    }
    expect(during.records.filter((answer) => answer.status === 503).length).toBeGreaterThan(0);
    expect(readyz?.status).toBe(200);
    expect(readyz?.body.status).toBe("degraded");
    expect(readyz?.body.postgres).toMatch(/^degraded: /);

    // The lock is gone: records go in again, and the worker applies every webhook it was given.
    await waitUntil(
      "a record to answer 201 again",
      async () => (await record(`after${Date.now()}`)).status === 201,
      15_000,
    );
    await waitUntil(
      "every webhook of the lock applied",
      async () => {
        const { rows } = await stack.sql.query("SELECT count(*)::int AS n FROM event_log");
        return rows[0]?.n >= during.webhooks.length;
      },
      90_000,
    );
    expect(await stack.queues.inbox.getFailedCount()).toBe(0);
    await api.process.stop();
  }, 180_000);
});
