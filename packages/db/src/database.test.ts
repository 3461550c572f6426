// The database itself: the migration makes every table, and the clients answer as they must when
// it is down, stalled or slow (a killed connection, a server that never answers, a statement timeout).
import type { AddressInfo } from "node:net";
import { createServer } from "node:net";
import { waitUntil } from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createDb,
  createSqlPool,
  type Db,
  isDatabaseUnavailable,
  notificationRecords,
  pingDb,
  type SqlPool,
  withSqlTransaction,
} from "./index.ts";
import { openTestClients } from "./test-clients.ts";

let db: Db;
let sql: SqlPool;
let databaseUrl: string;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ db, sql, databaseUrl, close } = await openTestClients("db_database"));
});
afterAll(() => close?.());

describe("the migration", () => {
  it("applies to an empty database: every table and view exists", async () => {
    const views = await db.$queryRaw<{ table_name: string }[]>`
      SELECT table_name FROM information_schema.views WHERE table_schema = 'public' ORDER BY table_name`;
    expect(views.map((row) => row.table_name)).toEqual(["event_log"]);
    const rows = await db.$queryRaw<{ table_name: string }[]>`
      SELECT table_name FROM information_schema.tables AS t
       WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
         -- the partitions of the event log's tables are theirs, not tables of their own
         AND NOT EXISTS (SELECT 1 FROM pg_class AS c WHERE c.relname = t.table_name AND c.relispartition)
       ORDER BY table_name`;
    expect(rows.map((row) => row.table_name)).toEqual([
      "_prisma_migrations",
      "api_keys",
      "audit_log",
      "dead_letters",
      "delivery_events",
      "engagement_events",
      "erased_emails",
      "notifications",
      "outbound_messages",
      "reputation_hourly",
      "resend_imports",
      "soft_bounce_counters",
      "suppressions",
      "webhook_endpoints",
    ]);
  });
});

describe("a database that is down", () => {
  it("input: the connection is killed between two queries of a transaction → the transaction rejects, the process lives, the pool serves again", async () => {
    const sql = createSqlPool({ databaseUrl, poolSize: 1 });
    const admin = createSqlPool({ databaseUrl, poolSize: 1 });
    try {
      const attempt = withSqlTransaction(sql, async (client) => {
        const { rows } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
        // The server ends this backend while no query is in flight: what a restart does to a worker
        // that is folding events between two statements. Once the backend is gone its goodbye is on
        // the socket; the next query goes once the client has read it (its connection ended), with
        // no query to hand it to.
        let ended = false;
        client.once("end", () => {
          ended = true;
        });
        await admin.query("SELECT pg_terminate_backend($1)", [rows[0]?.pid]);
        await waitUntil(
          `backend ${rows[0]?.pid} to leave pg_stat_activity`,
          async () => !(await admin.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [rows[0]?.pid])).rowCount,
          10_000,
          { intervalMs: 10 },
        );
        await waitUntil(`the client of backend ${rows[0]?.pid} to read the server's goodbye`, () => ended, 10_000, {
          intervalMs: 10,
        });
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
    const slowDb = createDb({ databaseUrl, statementTimeoutMs: 200 });
    const slowSql = createSqlPool({ databaseUrl, statementTimeoutMs: 200 });
    try {
      const viaPrisma = await slowDb.$queryRaw`SELECT pg_sleep(2)`.catch((error: unknown) => error);
      const viaPg = await slowSql.query("SELECT pg_sleep(2)").catch((error: unknown) => error);
      expect(String(viaPrisma)).toMatch(/statement timeout/);
      expect(viaPg).toMatchObject({ code: "57014" });
      expect([isDatabaseUnavailable(viaPrisma), isDatabaseUnavailable(viaPg)]).toEqual([true, true]);

      // A model query (not raw SQL) waiting on a row another transaction holds: the client engine
      // throws the driver adapter's own error, which must count the same.
      const { notification } = await notificationRecords.record(sql, {
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
