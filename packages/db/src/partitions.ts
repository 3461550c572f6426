// The event log's daily partitions: `<table>_pYYYYMMDD` holds one UTC day of occurred_at, and
// `<table>_default` whatever falls outside every day partition. Read from pg_catalog, created ahead
// of time, counted for stats and metrics. On a table that is not partitioned every answer is empty.
import { type SqlPool, type SqlRunner, withSqlTransaction } from "./sql.ts";

/** The tables partitioned by day of occurred_at. */
export const EVENT_LOG_TABLES = ["delivery_events", "engagement_events"] as const;

const DAY_MS = 86_400_000;

/** How long DDL waits for a table's lock before giving up: a busy table is tried again at the next run. */
export const DDL_LOCK_TIMEOUT_MS = 5_000;

export interface DayPartition {
  table: string;
  name: string;
  /** The UTC day it holds, `YYYY-MM-DD`. */
  day: string;
  from: Date;
  to: Date;
}

export interface TablePartitions {
  table: string;
  /** False for a plain table (the schema before the partitioned event log). */
  partitioned: boolean;
  /** The day partitions, oldest first. */
  days: DayPartition[];
  /** The DEFAULT partition's name, when there is one. */
  defaultPartition: string | null;
}

/** A table or partition name as SQL: only plain lower-case identifiers are ever built into statements. */
export function ident(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`not a plain table name: ${name}`);
  return `"${name}"`;
}

/** `2026-12-07` → `delivery_events_p20261207`. */
export function partitionName(table: string, day: string): string {
  return `${table}_p${day.replaceAll("-", "")}`;
}

/** The UTC day of a time, `YYYY-MM-DD`. */
function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/** 00:00 UTC of the day of `at`. */
export function startOfUtcDay(at: Date): Date {
  return new Date(Math.floor(at.getTime() / DAY_MS) * DAY_MS);
}

/** The partitions of `table`, with their bounds as PostgreSQL holds them (pg_inherits, relpartbound). */
export async function listPartitions(sql: SqlRunner, table: string): Promise<TablePartitions> {
  const { rows } = await sql.query<{
    partitioned: boolean;
    name: string | null;
    from: Date | null;
    to: Date | null;
    is_default: boolean | null;
  }>(
    `SELECT p.relkind = 'p' AS partitioned, c.relname AS name,
            substring(pg_get_expr(c.relpartbound, c.oid) FROM 'FROM \\(''([^'']+)''\\) TO')::timestamptz AS "from",
            substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \\(''([^'']+)''\\)')::timestamptz AS "to",
            pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT' AS is_default
       FROM pg_class p
       LEFT JOIN pg_inherits i ON i.inhparent = p.oid
       LEFT JOIN pg_class c ON c.oid = i.inhrelid
      WHERE p.oid = to_regclass($1)`,
    [table],
  );
  const partitioned = rows[0]?.partitioned === true;
  const days: DayPartition[] = [];
  let defaultPartition: string | null = null;
  for (const row of rows) {
    if (!row.name) continue;
    if (row.is_default) defaultPartition = row.name;
    else if (row.from && row.to)
      days.push({ table, name: row.name, day: utcDay(row.from), from: row.from, to: row.to });
  }
  days.sort((a, b) => a.from.getTime() - b.from.getTime());
  return { table, partitioned, days, defaultPartition };
}

export interface EnsureReport {
  /** Partitions created, by name. */
  created: string[];
  /** Rows moved out of a default partition into a partition created for their day. */
  moved: number;
}

/**
 * Create the day partitions of `from`'s day and the `daysAhead` days after it where missing, for
 * each partitioned table. Each partition is created in a transaction of its own that first moves
 * its day's rows out of the default partition (PostgreSQL refuses the partition while the default
 * holds them) and puts them back through the parent, so they land in the new partition.
 */
export async function ensurePartitions(
  pool: SqlPool,
  {
    now = new Date(),
    daysAhead = 7,
    tables = EVENT_LOG_TABLES,
    lockTimeoutMs = DDL_LOCK_TIMEOUT_MS,
  }: { now?: Date; daysAhead?: number; tables?: readonly string[]; lockTimeoutMs?: number } = {},
): Promise<EnsureReport> {
  const report: EnsureReport = { created: [], moved: 0 };
  const first = startOfUtcDay(now).getTime();
  for (const table of tables) {
    const current = await listPartitions(pool, table);
    if (!current.partitioned) continue;
    const have = new Set(current.days.map((partition) => partition.day));
    for (let offset = 0; offset <= daysAhead; offset += 1) {
      const day = utcDay(new Date(first + offset * DAY_MS));
      if (have.has(day)) continue;
      const moved = await createDayPartition(pool, table, day, { lockTimeoutMs });
      if (moved === null) continue;
      report.created.push(partitionName(table, day));
      report.moved += moved;
    }
  }
  return report;
}

/**
 * Create `table`'s partition for one UTC day, moving that day's rows out of its default partition
 * in the same transaction. Answers the rows moved, or null when the partition already existed.
 */
export async function createDayPartition(
  pool: SqlPool,
  table: string,
  day: string,
  { lockTimeoutMs = DDL_LOCK_TIMEOUT_MS }: { lockTimeoutMs?: number } = {},
): Promise<number | null> {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new Error(`not a day: ${day}`);
  const name = partitionName(table, day);
  const from = new Date(`${day}T00:00:00Z`);
  const to = new Date(from.getTime() + DAY_MS);
  return withSqlTransaction(pool, async (client) => {
    await client.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.floor(lockTimeoutMs))}`);
    const exists = await client.query("SELECT to_regclass($1) IS NOT NULL AS exists", [name]);
    if (exists.rows[0]?.exists) return null;
    const { defaultPartition } = await listPartitions(client, table);
    const columns = (await columnsOf(client, table)).map(ident).join(", ");
    let moved = 0;
    if (defaultPartition) {
      // The temporary table is dropped at commit: the rows are back in the parent by then.
      await client.query(`CREATE TEMPORARY TABLE moving_rows (LIKE ${ident(table)}) ON COMMIT DROP`);
      moved =
        (
          await client.query(
            `WITH taken AS (
               DELETE FROM ${ident(defaultPartition)} WHERE occurred_at >= $1 AND occurred_at < $2 RETURNING ${columns}
             )
             INSERT INTO moving_rows (${columns}) SELECT ${columns} FROM taken`,
            [from, to],
          )
        ).rowCount ?? 0;
    }
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${ident(name)} PARTITION OF ${ident(table)}
         FOR VALUES FROM ('${from.toISOString()}') TO ('${to.toISOString()}')`,
    );
    if (moved > 0) await client.query(`INSERT INTO ${ident(table)} (${columns}) SELECT ${columns} FROM moving_rows`);
    return moved;
  });
}

async function columnsOf(sql: SqlRunner, table: string): Promise<string[]> {
  const { rows } = await sql.query<{ name: string }>(
    `SELECT attname AS name FROM pg_attribute
      WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    [table],
  );
  return rows.map((row) => row.name);
}

/** Rows in each partitioned table's default partition: events outside every day partition. */
export async function defaultPartitionRows(
  sql: SqlRunner,
  tables: readonly string[] = EVENT_LOG_TABLES,
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of tables) {
    const { defaultPartition } = await listPartitions(sql, table);
    if (!defaultPartition) {
      counts[table] = 0;
      continue;
    }
    const { rows } = await sql.query<{ count: number }>(
      `SELECT count(*)::int AS count FROM ${ident(defaultPartition)}`,
    );
    counts[table] = rows[0]?.count ?? 0;
  }
  return counts;
}

/**
 * The oldest UTC day mailstate still holds per-message data of: the lower bound of the oldest day
 * partition, or the day of the oldest notification, whichever is older; null when it holds none.
 */
export async function oldestDayKept(
  sql: SqlRunner,
  tables: readonly string[] = EVENT_LOG_TABLES,
): Promise<Date | null> {
  const { rows } = await sql.query<{ oldest: Date | null }>("SELECT min(created_at) AS oldest FROM notifications");
  const candidates: Date[] = [];
  if (rows[0]?.oldest) candidates.push(startOfUtcDay(rows[0].oldest));
  for (const table of tables) {
    const first = (await listPartitions(sql, table)).days[0];
    if (first) candidates.push(first.from);
  }
  if (candidates.length === 0) return null;
  return new Date(Math.min(...candidates.map((at) => at.getTime())));
}
