// What the repository tests (*-tables.test.ts, database.test.ts) share: a database of the test
// file's own, cloned from the migrated template, with the two clients production uses on it, and the
// few builders their tests call.
import { createTestDatabase } from "@mailstate/test-support";
import {
  createDb,
  createSqlPool,
  type Db,
  notificationRecords,
  type SqlClient,
  type SqlPool,
  withSqlTransaction,
} from "./index.ts";

export interface TestClients {
  databaseUrl: string;
  /** Prisma, as the API reads. */
  db: Db;
  /** The worker's pool: the tables' batched writes run on it, as in production. */
  sql: SqlPool;
  /** `fn` in a transaction on `sql`, as the worker runs a batch. */
  inTransaction<T>(fn: (client: SqlClient) => Promise<T>): Promise<T>;
  /** A notification to these recipients recorded as the API records one (with Resend's id, if given). */
  record(
    recipients: string[],
    resendEmailId?: string | null,
  ): Promise<Awaited<ReturnType<typeof notificationRecords.record>>["notification"]>;
  /** Disconnect both clients and drop the database. */
  close(): Promise<void>;
}

export async function openTestClients(label: string): Promise<TestClients> {
  const database = await createTestDatabase(label);
  const db = createDb({ databaseUrl: database.url, poolSize: 4 });
  const sql = createSqlPool({ databaseUrl: database.url, poolSize: 2 });
  return {
    databaseUrl: database.url,
    db,
    sql,
    inTransaction: (fn) => withSqlTransaction(sql, fn),
    record: async (recipients, resendEmailId = null) =>
      (await notificationRecords.record(sql, { recipients, from: "a@acme.test", subject: "s", resendEmailId }))
        .notification,
    async close() {
      await db.$disconnect();
      await sql.end();
      await database.drop();
    },
  };
}

/** 2026-11-22T10:00:<second>Z: the time of the events these tests write. */
export const at = (second: number) => new Date(`2026-11-22T10:00:${String(second).padStart(2, "0")}.000Z`);
