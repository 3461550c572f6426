// node-postgres pools (the worker's, and the API's for recording sends), transactions on them, and
// the one door through which a statement runs on either client (a pool, or Prisma's raw queries).
import pg from "pg";
import type { DbClient } from "./client.ts";
import { type ConnectionLimits, connectionSettings } from "./connection.ts";

export type SqlPool = pg.Pool;
export type SqlClient = pg.PoolClient;
/** Where one statement runs on its own: the pool, or a client holding a transaction. */
export type SqlRunner = SqlPool | SqlClient;

export function createSqlPool({
  databaseUrl,
  poolSize = 10,
  onError,
  ...limits
}: {
  databaseUrl: string;
  poolSize?: number;
  onError?: (error: Error) => void;
} & ConnectionLimits): SqlPool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: poolSize,
    ...connectionSettings(limits),
    // A named (prepared) statement is planned once per connection, not at every call: the batch
    // statements that read the partitioned event log would otherwise plan every day partition
    // every time (~100 at RETENTION_DAYS 90; 108 ms against 20 ms a batch of 100, measured).
    // Run-time pruning still skips the partitions a parameter rules out. Unnamed statements are
    // planned per call, as before.
    options: "-c plan_cache_mode=force_generic_plan",
  });
  // An idle connection dropped by the server (restart, failover) must not crash the process.
  pool.on("error", (error) => onError?.(error));
  return pool;
}

/**
 * Run `fn` in a transaction on a client of its own. While a client is checked out the pool stops
 * listening for its errors, so a connection dropped between two queries (PostgreSQL stopped or
 * failed over) would be an uncaught 'error' event and kill the process: it is caught here, the
 * transaction fails with it, and the broken client is destroyed rather than returned to the pool.
 */
export async function withSqlTransaction<T>(pool: SqlPool, fn: (client: SqlClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onConnectionError = (error: Error) => {
    broken = error;
  };
  client.on("error", onConnectionError);
  try {
    await client.query("BEGIN");
    const result = await fn(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    if (!broken) {
      await client.query("ROLLBACK").catch((rollbackError: Error) => {
        broken = rollbackError;
      });
    }
    throw error;
  } finally {
    client.removeListener("error", onConnectionError);
    client.release(broken);
  }
}

/**
 * Where a write that the worker and the API (or the CLI) share runs: the worker's pool or one of
 * its transactions, or a Prisma client or transaction. The statement is the same text either way,
 * so the rule it carries is written once.
 */
export type Runner = SqlPool | SqlClient | DbClient;

/** Run one statement; answers the rows it changed. */
export async function execute(runner: Runner, text: string, values: unknown[]): Promise<number> {
  if ("$executeRawUnsafe" in runner) return runner.$executeRawUnsafe(text, ...values);
  return (await runner.query(text, values)).rowCount ?? 0;
}

/**
 * JSON text PostgreSQL takes: jsonb and text refuse U+0000, which JSON allows and a webhook may
 * carry. It becomes U+FFFD, so the event is logged and applied rather than refused forever.
 * Only a real `\u0000` escape is replaced, not the text `\\u0000` (an escaped backslash).
 */
export function jsonForPostgres(value: unknown): string {
  const text = JSON.stringify(value);
  // Almost no document holds one: skip the regex's scan of the whole text.
  return text.includes("\\u0000") ? text.replace(/(?<!\\)((?:\\\\)*)\\u0000/g, "$1\\ufffd") : text;
}

/**
 * One named write of a batch, whose one parameter is a JSON document of records: it runs alone, or
 * with other writes of the batch in one statement (writeTogether), where it stays a named part.
 */
export interface BatchWrite {
  /** What it writes, e.g. `engagement_rows`: the name of its part of a combined statement. */
  name: string;
  /** The statement, given the placeholder of its parameter. */
  statement(param: string): string;
  /** Its parameter: the records, as JSON. */
  records: string;
}

/**
 * Run these writes in one round trip. Each is a data-modifying WITH query named after what it
 * writes; PostgreSQL runs every one of them to completion, on one snapshot, whether or not the
 * final SELECT reads them. Writes of one batch touch different tables, so their order is moot.
 */
export async function writeTogether(client: SqlClient, writes: (BatchWrite | null)[]): Promise<void> {
  const parts = writes.filter((write): write is BatchWrite => write !== null);
  const [first] = parts;
  if (!first) return;
  if (parts.length === 1) {
    await client.query(first.statement("$1"), [first.records]);
    return;
  }
  const named = parts.map((part, index) => `${part.name} AS (\n${part.statement(`$${index + 1}`)}\n)`);
  await client.query(
    `WITH ${named.join(",\n")}\nSELECT 1`,
    parts.map((part) => part.records),
  );
}
