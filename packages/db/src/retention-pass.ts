// RETENTION_DAYS: one pass that removes per-message data older than a cutoff (00:00 UTC of a day).
// Event partitions wholly before it are dropped; the rest goes row by row, in chunks, each chunk
// one transaction in which a notification and everything about it go together. Every step picks
// up what is left, so a pass killed half-way is finished by the next one. Suppressions, the audit
// log, the reputation rollups, API keys and soft-bounce counters are never touched.
import {
  type DayPartition,
  DDL_LOCK_TIMEOUT_MS,
  EVENT_LOG_TABLES,
  ident,
  listPartitions,
  startOfUtcDay,
} from "./partitions.ts";
import { type SqlClient, type SqlPool, type SqlRunner, withSqlTransaction } from "./sql.ts";
import { reputation } from "./tables/reputation.ts";

const DAY_MS = 86_400_000;

export interface RetentionCounts {
  notifications: number;
  deliveryEvents: number;
  engagementEvents: number;
  outboundMessages: number;
  /** Resolved ones only: an open dead letter waits for an operator. */
  deadLetters: number;
  /** Erasure tombstones, when that table exists. */
  erasedEmails: number;
}

export interface RetentionReport {
  /** Everything before it went (or would go); everything from it stays. */
  cutoff: string;
  dryRun: boolean;
  /** Rows removed, or that would be, per table. */
  removed: RetentionCounts;
  /** Event partitions dropped (or that would be), by name. */
  partitionsDropped: string[];
}

export interface RetentionOptions {
  cutoff: Date;
  dryRun?: boolean;
  /** Notifications (or rows of the other tables) per transaction. */
  chunkSize?: number;
  lockTimeoutMs?: number;
  /** Called after each committed chunk or drop (tests stop a pass half-way with it). */
  afterStep?: (step: string) => void | Promise<void>;
}

/** 00:00 UTC of the day `days` days before `now`: what is older goes. */
export function retentionCutoff(now: Date, days: number): Date {
  return startOfUtcDay(new Date(now.getTime() - days * DAY_MS));
}

const zero = (): RetentionCounts => ({
  notifications: 0,
  deliveryEvents: 0,
  engagementEvents: 0,
  outboundMessages: 0,
  deadLetters: 0,
  erasedEmails: 0,
});

const COUNT_KEY = { delivery_events: "deliveryEvents", engagement_events: "engagementEvents" } as const;

/** One retention pass, or (dryRun) the same counts computed without changing anything. */
export async function runRetention(pool: SqlPool, options: RetentionOptions): Promise<RetentionReport> {
  const { cutoff, dryRun = false } = options;
  const report: RetentionReport = {
    cutoff: cutoff.toISOString(),
    dryRun,
    removed: zero(),
    partitionsDropped: [],
  };
  const expiring: DayPartition[] = [];
  const defaults: { table: (typeof EVENT_LOG_TABLES)[number]; storage: string }[] = [];
  for (const table of EVENT_LOG_TABLES) {
    const partitions = await listPartitions(pool, table);
    expiring.push(...partitions.days.filter((partition) => partition.to.getTime() <= cutoff.getTime()));
    if (partitions.defaultPartition) defaults.push({ table, storage: partitions.defaultPartition });
  }
  expiring.sort((a, b) => a.from.getTime() - b.from.getTime() || a.table.localeCompare(b.table));
  report.partitionsDropped = expiring.map((partition) => partition.name);
  if (dryRun) {
    report.removed = await countRetention(pool, cutoff, expiring, defaults);
    return report;
  }
  const add = (counts: Partial<RetentionCounts>) => {
    for (const [key, value] of Object.entries(counts) as [keyof RetentionCounts, number][])
      report.removed[key] += value;
  };
  for (const partition of expiring) {
    add(await dropPartition(pool, partition, options));
    await options.afterStep?.(`drop ${partition.name}`);
  }
  for (const { table, storage } of defaults) {
    await chunked(pool, options, `unmatched ${table}`, async (client) => {
      const deleted = await deleteOrphanEvents(client, storage, options);
      add({ [COUNT_KEY[table]]: deleted });
      return deleted;
    });
  }
  await chunked(pool, options, "notifications", async (client) => {
    const counts = await deleteExpiredNotifications(client, options);
    add(counts);
    return counts.notifications;
  });
  for (const [key, text] of Object.entries(ROW_DELETES) as [keyof RetentionCounts, string][]) {
    await chunked(pool, options, key, async (client) => {
      const deleted = (await client.query(text, [cutoff, options.chunkSize ?? 1_000])).rowCount ?? 0;
      add({ [key]: deleted });
      return deleted;
    });
  }
  return report;
}

/** Repeat `step` in transactions of its own until a chunk finds nothing left. */
async function chunked(
  pool: SqlPool,
  options: RetentionOptions,
  name: string,
  step: (client: SqlClient) => Promise<number>,
): Promise<void> {
  for (;;) {
    const done = await withSqlTransaction(pool, async (client) => {
      await client.query(`SET LOCAL lock_timeout = ${lockTimeout(options)}`);
      return step(client);
    });
    if (done === 0) return;
    await options.afterStep?.(name);
  }
}

const lockTimeout = (options: RetentionOptions) =>
  Math.max(1, Math.floor(options.lockTimeoutMs ?? DDL_LOCK_TIMEOUT_MS));

/**
 * Notifications recorded at or after the cutoff with an event in this partition (rare: events
 * parked long before their send was recorded). They go whole, before the partition, so no kept
 * notification loses an event.
 */
function strandedNotifications(partition: string): string {
  return `SELECT n.id FROM notifications n
           WHERE n.created_at >= $1 AND n.id IN (SELECT notification_id FROM ${ident(partition)} WHERE notification_id IS NOT NULL)`;
}

async function dropPartition(
  sql: SqlPool,
  partition: DayPartition,
  options: RetentionOptions,
): Promise<Partial<RetentionCounts>> {
  return withSqlTransaction(sql, async (client) => {
    await client.query(`SET LOCAL lock_timeout = ${lockTimeout(options)}`);
    const stranded = await client.query<{ id: string }>(`${strandedNotifications(partition.name)} FOR UPDATE OF n`, [
      options.cutoff,
    ]);
    const counts = await deleteNotifications(
      client,
      stranded.rows.map((row) => row.id),
      { keepRollups: false },
    );
    const { rows } = await client.query<{ count: number }>(
      `SELECT count(*)::int AS count FROM ${ident(partition.name)}`,
    );
    counts[COUNT_KEY[partition.table as keyof typeof COUNT_KEY]] += rows[0]?.count ?? 0;
    await client.query(`DROP TABLE ${ident(partition.name)}`);
    return counts;
  });
}

/**
 * Events older than the cutoff that belong to no notification (parked or ignored ones; the foreign
 * key keeps every other notification_id pointing at a notification). Events of a notification go
 * with it, in the notifications step, never on their own. The (notification_id, occurred_at)
 * index finds them.
 */
const ORPHANS = "notification_id IS NULL AND occurred_at < $1";

async function deleteOrphanEvents(client: SqlClient, storage: string, options: RetentionOptions): Promise<number> {
  const { rowCount } = await client.query(
    `DELETE FROM ${ident(storage)} WHERE ctid IN (
       SELECT ctid FROM ${ident(storage)} WHERE ${ORPHANS} LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    [options.cutoff, options.chunkSize ?? 1_000],
  );
  return rowCount ?? 0;
}

/** One chunk of the notifications recorded before the cutoff, with their events. */
async function deleteExpiredNotifications(client: SqlClient, options: RetentionOptions): Promise<RetentionCounts> {
  const { rows } = await client.query<{ id: string }>(
    `SELECT id FROM notifications WHERE created_at < $1 ORDER BY created_at, id LIMIT $2 FOR UPDATE SKIP LOCKED`,
    [options.cutoff, options.chunkSize ?? 1_000],
  );
  // Their hours are before the cutoff, which rebuild no longer recomputes: the rollups keep them.
  return deleteNotifications(
    client,
    rows.map((row) => row.id),
    { keepRollups: true },
  );
}

/**
 * Delete these notifications and their events (by notification id, whatever the foreign key's
 * action). With keepRollups false their facts leave the reputation rollups too, as they must for
 * hours rebuild still recomputes.
 */
async function deleteNotifications(
  client: SqlClient,
  ids: string[],
  { keepRollups }: { keepRollups: boolean },
): Promise<RetentionCounts> {
  const counts = zero();
  if (ids.length === 0) return counts;
  if (!keepRollups) await reputation.forget(client, ids);
  counts.deliveryEvents =
    (await client.query("DELETE FROM delivery_events WHERE notification_id = ANY($1::uuid[])", [ids])).rowCount ?? 0;
  counts.engagementEvents =
    (await client.query("DELETE FROM engagement_events WHERE notification_id = ANY($1::uuid[])", [ids])).rowCount ?? 0;
  counts.notifications =
    (await client.query("DELETE FROM notifications WHERE id = ANY($1::uuid[])", [ids])).rowCount ?? 0;
  return counts;
}

/** The other per-message tables: one chunk's statement each ($1 the cutoff, $2 the chunk size). */
const ROW_DELETES: Partial<Record<keyof RetentionCounts, string>> = {
  outboundMessages: `DELETE FROM outbound_messages WHERE id IN (
       SELECT id FROM outbound_messages WHERE created_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
  deadLetters: `DELETE FROM dead_letters WHERE id IN (
       SELECT id FROM dead_letters WHERE resolved_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
  // Erasure tombstones: a late webhook of an erased email is dropped for RETENTION_DAYS after the erase.
  erasedEmails: `DELETE FROM erased_emails WHERE email_id IN (
       SELECT email_id FROM erased_emails WHERE erased_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
};

/** What a pass would remove, computed step by step as the pass would go, without changing anything. */
async function countRetention(
  sql: SqlPool,
  cutoff: Date,
  expiring: DayPartition[],
  defaults: { table: (typeof EVENT_LOG_TABLES)[number]; storage: string }[],
): Promise<RetentionCounts> {
  return withSqlTransaction(sql, async (client) => {
    await client.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    const counts = zero();
    const dropping = expiring.map((partition) => partition.name);
    // Stranded notifications of every expiring partition: they go whole.
    const stranded = dropping.length
      ? (
          await client.query<{ id: string }>(dropping.map((name) => strandedNotifications(name)).join(" UNION "), [
            cutoff,
          ])
        ).rows.map((row) => row.id)
      : [];
    const one = async (text: string, values: unknown[]) =>
      (await client.query<{ count: number }>(text, values)).rows[0]?.count ?? 0;
    counts.notifications += stranded.length;
    for (const table of EVENT_LOG_TABLES) {
      const key = COUNT_KEY[table];
      counts[key] += await one(
        `SELECT count(*)::int AS count FROM ${ident(table)} WHERE notification_id = ANY($1::uuid[])`,
        [stranded],
      );
      for (const partition of expiring.filter((p) => p.table === table))
        counts[key] += await one(
          `SELECT count(*)::int AS count FROM ${ident(partition.name)}
            WHERE notification_id IS NULL OR NOT notification_id = ANY($1::uuid[])`,
          [stranded],
        );
      const storage = defaults.find((entry) => entry.table === table)?.storage;
      if (storage)
        counts[key] += await one(`SELECT count(*)::int AS count FROM ${ident(storage)} WHERE ${ORPHANS}`, [cutoff]);
      // What is left of the notifications recorded before the cutoff, outside the dropped partitions.
      counts[key] += await one(
        `SELECT count(*)::int AS count FROM ${ident(table)} e
           JOIN notifications n ON n.id = e.notification_id AND n.created_at < $1
          WHERE NOT e.tableoid::regclass::text = ANY($2::text[])`,
        [cutoff, dropping],
      );
    }
    counts.notifications += await one("SELECT count(*)::int AS count FROM notifications WHERE created_at < $1", [
      cutoff,
    ]);
    counts.outboundMessages = await one("SELECT count(*)::int AS count FROM outbound_messages WHERE created_at < $1", [
      cutoff,
    ]);
    counts.deadLetters = await one("SELECT count(*)::int AS count FROM dead_letters WHERE resolved_at < $1", [cutoff]);
    counts.erasedEmails = await one("SELECT count(*)::int AS count FROM erased_emails WHERE erased_at < $1", [cutoff]);
    return counts;
  });
}

/**
 * From which hour rebuild recomputes the projections and the rollups: the retention cutoff, or the
 * hour of the oldest notification if later. Before it, notifications are gone or on their way out
 * (a pass drops their old partitions first), and the rollups keep the hours they no longer define.
 */
export async function rebuildHorizon(sql: SqlRunner, cutoff: Date): Promise<Date> {
  const { rows } = await sql.query<{ horizon: Date }>(
    `SELECT greatest($1::timestamptz, (SELECT date_trunc('hour', min(created_at), 'UTC') FROM notifications)) AS horizon`,
    [cutoff],
  );
  return rows[0]?.horizon ?? cutoff;
}
