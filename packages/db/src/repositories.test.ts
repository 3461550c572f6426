import type { AddressInfo } from "node:net";
import { createServer } from "node:net";
import { createTestDatabase, type TestDatabase, waitUntil } from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createDb,
  createSqlPool,
  type Db,
  engagement,
  events,
  isDatabaseUnavailable,
  notifications,
  pingDb,
  reconcileStore,
  softBounces,
  suppressions,
  withSqlTransaction,
} from "./index.ts";

let database: TestDatabase;
let db: Db;

beforeAll(async () => {
  database = await createTestDatabase("repos");
  db = createDb({ databaseUrl: database.url, poolSize: 4 });
});

afterAll(async () => {
  await db.$disconnect();
  await database.drop();
});

describe("the migration", () => {
  it("applies to an empty database: every table exists", async () => {
    const rows = await db.$queryRaw<{ table_name: string }[]>`
      SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`;
    expect(rows.map((row) => row.table_name)).toEqual([
      "_prisma_migrations",
      "dead_letters",
      "delivery_events",
      "engagement_events",
      "notifications",
      "soft_bounce_counters",
      "suppressions",
    ]);
  });
});

describe("repositories round-trip", () => {
  it("notifications: record, find by id and email id, idempotent on key, attach once", async () => {
    const input = {
      recipients: ["ada@example.com", "bob@example.com"],
      from: "Acme <hello@acme.test>",
      subject: "Welcome",
      tenant: "acme",
      tags: { flow: "welcome" },
      category: "onboarding",
      metadata: { userId: 42 },
      idempotencyKey: "welcome-42",
    };
    const first = await notifications.record(db, input);
    expect(first.created).toBe(true);
    expect(first.notification).toMatchObject({ ...input, state: "recorded", resendEmailId: null });

    const again = await notifications.record(db, { ...input, subject: "changed" });
    expect(again).toEqual({ notification: first.notification, created: false, attached: false });

    const attached = await notifications.attachResendEmailId(db, first.notification.id, "re_1");
    expect(attached).toMatchObject({ id: first.notification.id, resendEmailId: "re_1" });
    expect(await notifications.attachResendEmailId(db, first.notification.id, "re_other")).toBe("conflict");
    expect(await notifications.attachResendEmailId(db, "00000000-0000-0000-0000-000000000000", "re_2")).toBe(
      "not_found",
    );
    expect((await notifications.findByResendEmailId(db, "re_1"))?.id).toBe(first.notification.id);

    const byResendId = await notifications.record(db, { ...input, idempotencyKey: null, resendEmailId: "re_1" });
    expect(byResendId.created).toBe(false);

    const page = await notifications.list(db, { email: "bob@example.com", limit: 10 });
    expect(page.map((row) => row.id)).toEqual([first.notification.id]);
  });

  it("notifications: the projection is written and read back", async () => {
    const { notification } = await notifications.record(db, {
      recipients: ["c@example.com"],
      from: "a@acme.test",
      subject: "s",
    });
    const at = new Date("2026-11-22T10:00:00.123Z");
    await notifications.saveProjection(db, notification.id, {
      state: "delivered",
      stateChangedAt: at,
      stateEventType: "email.delivered",
      stateEventId: "msg_1",
      openCount: 2,
      clickCount: 1,
      firstOpenedAt: at,
      firstClickedAt: at,
    });
    const read = await notifications.findById(db, notification.id);
    expect(read).toMatchObject({ state: "delivered", stateChangedAt: at, openCount: 2, clickCount: 1 });
    expect((await notifications.countByState(db)).delivered).toBe(1);
  });

  it("delivery events: appended once per svix-id, raw payload kept as jsonb", async () => {
    const event = {
      svixId: "msg_append_1",
      type: "email.sent",
      occurredAt: new Date("2026-11-22T10:00:00.000Z"),
      emailId: "re_events",
      payload: { type: "email.sent", created_at: "2026-11-22T10:00:00.000Z", data: { email_id: "re_events" } },
      notificationId: null,
      status: "unmatched" as const,
    };
    expect(await events.append(db, event)).toBe(true);
    expect(await events.append(db, event)).toBe(false);
    const stored = await events.findBySvixId(db, "msg_append_1");
    expect(stored).toMatchObject({ type: "email.sent", status: "unmatched", payload: event.payload });
    expect(await events.countByStatus(db, "unmatched")).toBe(1);

    const { notification } = await notifications.record(db, {
      recipients: ["d@example.com"],
      from: "a@acme.test",
      subject: "s",
      resendEmailId: "re_events",
    });
    // The worker adopts parked events through the SQL store, in one statement with the append.
    const sql = createSqlPool({ databaseUrl: database.url, poolSize: 1 });
    const first = await withSqlTransaction(sql, (client) =>
      reconcileStore.appendAndAdopt(client, [], { emailIds: ["re_events"], notificationIds: [notification.id] }),
    );
    const again = await withSqlTransaction(sql, (client) =>
      reconcileStore.appendAndAdopt(client, [], { emailIds: ["re_events"], notificationIds: [notification.id] }),
    );
    await sql.end();
    expect(first.adopted).toEqual([
      { svixId: "msg_append_1", payload: event.payload, notificationId: notification.id },
    ]);
    expect(first.applied).toEqual([]);
    expect(again.adopted).toEqual([]);
    expect(again.applied).toEqual([{ svixId: "msg_append_1", notificationId: notification.id }]);
    const logged = await events.listForNotification(db, notification.id);
    expect(logged.map((row) => [row.svixId, row.status])).toEqual([["msg_append_1", "applied"]]);
  });

  it("input: 20 attaches of one (notification, Resend id) at once, as retried requests would → every one answers the notification, none a conflict", async () => {
    const { notification } = await notifications.record(db, {
      recipients: ["r@example.com"],
      from: "a@acme.test",
      subject: "s",
    });
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, () => notifications.attachResendEmailId(db, notification.id, "re_retried")),
    );
    expect(outcomes.map((outcome) => (typeof outcome === "object" ? outcome.resendEmailId : outcome))).toEqual(
      Array(20).fill("re_retried"),
    );
    expect(await notifications.attachResendEmailId(db, notification.id, "re_other")).toBe("conflict");
  });

  it("engagement: opens and clicks with link, user agent and ip, once per svix-id", async () => {
    const { notification } = await notifications.record(db, {
      recipients: ["e@example.com"],
      from: "a@acme.test",
      subject: "s",
    });
    const click = {
      svixId: "msg_click_1",
      notificationId: notification.id,
      kind: "clicked" as const,
      occurredAt: new Date("2026-11-22T10:05:00.000Z"),
      link: "https://acme.test/welcome",
      userAgent: "Mozilla/5.0",
      ipAddress: "203.0.113.7",
    };
    expect(await engagement.append(db, click)).toBe(true);
    expect(await engagement.append(db, click)).toBe(false);
    expect(await engagement.listForNotification(db, notification.id)).toMatchObject([click]);
  });

  it("suppressions: one row per address, first reason wins, expiry honoured, removable", async () => {
    expect(await suppressions.add(db, { email: "f@example.com", reason: "hard_bounce", sourceEventId: "msg_b" })).toBe(
      true,
    );
    expect(await suppressions.add(db, { email: "f@example.com", reason: "complaint" })).toBe(false);
    expect(await suppressions.find(db, "f@example.com")).toMatchObject({
      reason: "hard_bounce",
      sourceEventId: "msg_b",
    });

    await suppressions.add(db, { email: "g@example.com", reason: "manual", expiresAt: new Date(Date.now() - 1_000) });
    expect(await suppressions.find(db, "g@example.com")).toBeNull();
    expect((await suppressions.findMany(db, ["f@example.com", "g@example.com"])).map((row) => row.email)).toEqual([
      "f@example.com",
    ]);

    expect(await suppressions.remove(db, "f@example.com")).toBe(true);
    expect(await suppressions.find(db, "f@example.com")).toBeNull();
  });

  it("soft-bounce counters: count in a row, reset by a delivery", async () => {
    const at = new Date();
    expect(await softBounces.increment(db, "h@example.com", "msg_s1", at)).toBe(1);
    expect(await softBounces.increment(db, "h@example.com", "msg_s2", at)).toBe(2);
    expect(await softBounces.find(db, "h@example.com")).toMatchObject({ count: 2, lastEventId: "msg_s2" });
    await softBounces.reset(db, ["h@example.com"]);
    expect(await softBounces.find(db, "h@example.com")).toBeNull();
  });
});

describe("a database that is down", () => {
  it("input: the connection is killed between two queries of a transaction → the transaction rejects, the process lives, the pool serves again", async () => {
    const sql = createSqlPool({ databaseUrl: database.url, poolSize: 1 });
    const admin = createSqlPool({ databaseUrl: database.url, poolSize: 1 });
    try {
      const attempt = withSqlTransaction(sql, async (client) => {
        const { rows } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
        // The server ends this backend while no query is in flight: what a restart does to a worker
        // that is folding events between two statements. Once the backend is gone its goodbye is on
        // the socket; a moment later the client has read it, with no query to hand it to.
        await admin.query("SELECT pg_terminate_backend($1)", [rows[0]?.pid]);
        await waitUntil(
          `backend ${rows[0]?.pid} to leave pg_stat_activity`,
          async () => !(await admin.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [rows[0]?.pid])).rowCount,
          10_000,
          { intervalMs: 10 },
        );
        await new Promise((resolve) => setTimeout(resolve, 100));
        return client.query("SELECT 1");
      });
      await expect(attempt).rejects.toThrow(/terminat|not queryable|Connection terminated/i);
      // The broken client was destroyed, not handed back: the next transaction gets a fresh one.
      const { rows } = await withSqlTransaction(sql, (client) => client.query<{ one: number }>("SELECT 1 AS one"));
      expect(rows).toEqual([{ one: 1 }]);
    } finally {
      await Promise.all([sql.end(), admin.end()]);
    }
  });

  it("input: a server that accepts the connection and never answers (a stalled network) → pingDb answers false within its 1 s bound", async () => {
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as AddressInfo;
    const stalled = createDb({ databaseUrl: `postgresql://postgres@127.0.0.1:${port}/nothing` });
    try {
      const started = performance.now();
      expect(await pingDb(stalled)).toBe(false);
      expect(performance.now() - started).toBeLessThan(3_000);
    } finally {
      silent.close();
      await stalled.$disconnect().catch(() => {});
    }
  });

  it("input: a statement over the statement timeout (pg_sleep past 200 ms) → cancelled, and counted as the database being unavailable (503), on both clients", async () => {
    const slowDb = createDb({ databaseUrl: database.url, statementTimeoutMs: 200 });
    const slowSql = createSqlPool({ databaseUrl: database.url, statementTimeoutMs: 200 });
    try {
      const viaPrisma = await slowDb.$queryRaw`SELECT pg_sleep(2)`.catch((error: unknown) => error);
      const viaPg = await slowSql.query("SELECT pg_sleep(2)").catch((error: unknown) => error);
      expect(String(viaPrisma)).toMatch(/statement timeout/);
      expect(viaPg).toMatchObject({ code: "57014" });
      expect([isDatabaseUnavailable(viaPrisma), isDatabaseUnavailable(viaPg)]).toEqual([true, true]);

      // A model query (not raw SQL) waiting on a row another transaction holds: the client engine
      // throws the driver adapter's own error, which must count the same.
      const { notification } = await notifications.record(db, {
        recipients: ["t@example.com"],
        from: "a@acme.test",
        subject: "s",
      });
      const holder = await slowSql.connect();
      try {
        await holder.query("BEGIN");
        await holder.query("SET LOCAL statement_timeout = 0");
        await holder.query("SELECT 1 FROM notifications WHERE id = $1::uuid FOR UPDATE", [notification.id]);
        const viaModel = await slowDb.notification
          .update({ where: { id: notification.id }, data: { subject: "t" } })
          .catch((error: unknown) => error);
        expect(String(viaModel)).toMatch(/statement timeout/);
        expect(isDatabaseUnavailable(viaModel)).toBe(true);
      } finally {
        await holder.query("ROLLBACK");
        holder.release();
      }
    } finally {
      await slowDb.$disconnect();
      await slowSql.end();
    }
  });

  it("pingDb answers false instead of throwing when nothing listens on the port", async () => {
    const down = createDb({ databaseUrl: "postgresql://postgres@127.0.0.1:1/nothing", connectionTimeoutMs: 500 });
    expect(await pingDb(down)).toBe(false);
    await down.$disconnect();
  });
});
