// reputation_hourly: hourly counts of notifications per tenant, category and from-domain. The
// worker adds each batch's changes in the batch's own statement (change); `mailstate rebuild`
// recomputes the table from the notifications and the event log with one statement (recompute),
// which is the definition the worker's increments must agree with.
import type { BatchWrite, SqlClient, SqlRunner } from "../sql.ts";

/** What a notification counts as. Each is a fact of its applied events; see RollupFacts in the worker. */
export interface RollupCounts {
  sent: number;
  delivered: number;
  hardBounced: number;
  softBounced: number;
  complained: number;
}

/** A notification's change to its hour's counts: each field -1, 0 or +1. */
export interface RollupChange extends RollupCounts {
  notificationId: string;
}

export interface RollupRow extends RollupCounts {
  hour: Date;
  tenant: string;
  category: string;
  fromDomain: string;
}

/** `Ada <ada@Example.com>` → `example.com`; '' when `from` holds no address. SQL, for one column. */
export const fromDomainSql = (column: string) =>
  `COALESCE(lower(substring(${column} from '@([^@<>[:space:]]+)>?[[:space:]]*$')), '')`;

/** The key of a notification's rollup row: its recording hour (UTC), tenant, category and domain. */
const KEY_SQL = `date_trunc('hour', n.created_at, 'UTC'), COALESCE(n.tenant, ''), COALESCE(n.category, ''), ${fromDomainSql('n."from"')}`;

/**
 * Each notification's facts, from its applied events (event types as stored, bounce type from the
 * payload). Kept in step with rollupFactsOf in apps/worker/src/reconcile/rollup.ts.
 */
const factsSql = (only = "") => `SELECT e.notification_id,
         bool_or(e.type IN ('email.sent', 'email.delivered', 'email.delivery_delayed', 'email.bounced', 'email.complained')) AS sent,
         bool_or(e.type = 'email.delivered') AS delivered,
         bool_or(e.type = 'email.bounced' AND e.payload->'data'->'bounce'->>'type' = 'Permanent') AS hard,
         bool_or(e.type = 'email.bounced') AS bounced,
         bool_or(e.type = 'email.complained') AS complained
    FROM delivery_events AS e
   WHERE e.status = 'applied' AND e.notification_id IS NOT NULL ${only}
   GROUP BY e.notification_id`;

/** The rows the notifications and the log define, from `$since` on when `since` is set. */
const recomputeSql = ({ since = false, only = "" }: { since?: boolean; only?: string } = {}) => `SELECT ${KEY_SQL},
         count(*) FILTER (WHERE f.sent)::int, count(*) FILTER (WHERE f.delivered)::int,
         count(*) FILTER (WHERE f.hard)::int, count(*) FILTER (WHERE f.bounced AND NOT f.hard)::int,
         count(*) FILTER (WHERE f.complained)::int
    FROM (${factsSql(only)}) AS f
    JOIN notifications AS n ON n.id = f.notification_id
   ${since ? "WHERE n.created_at >= $1" : ""}
   GROUP BY 1, 2, 3, 4`;

const COLUMNS = `hour, tenant, category, from_domain, sent, delivered, hard_bounced, soft_bounced, complained`;
const SELECT_ROWS = `SELECT hour, tenant, category, from_domain AS "fromDomain", sent, delivered,
         hard_bounced AS "hardBounced", soft_bounced AS "softBounced", complained
    FROM reputation_hourly`;

export type Bucket = "hour" | "day";

export interface ReputationFilter {
  /** '' is the notifications of no tenant; undefined is every tenant. */
  tenant?: string;
  category?: string;
  fromDomain?: string;
  since: Date;
}

export interface ReputationPoint extends RollupCounts {
  at: Date;
}

export const reputation = {
  /**
   * Add these notifications' changes to their hours' rows; null when none. The rows are written in
   * key order, so two batches that touch the same rows lock them in the same order (no deadlock).
   */
  change(changes: RollupChange[]): BatchWrite | null {
    const moving = changes.filter(
      (c) => c.sent !== 0 || c.delivered !== 0 || c.hardBounced !== 0 || c.softBounced !== 0 || c.complained !== 0,
    );
    if (moving.length === 0) return null;
    return {
      name: "reputation_rollups",
      statement: (records) => `INSERT INTO reputation_hourly AS r (${COLUMNS})
        SELECT ${KEY_SQL}, sum(d.sent), sum(d.delivered), sum(d.hard_bounced), sum(d.soft_bounced), sum(d.complained)
          FROM jsonb_to_recordset(${records}::jsonb)
               AS d(id uuid, sent int, delivered int, hard_bounced int, soft_bounced int, complained int)
          JOIN notifications AS n ON n.id = d.id
         GROUP BY 1, 2, 3, 4
         ORDER BY 1, 2, 3, 4
        ON CONFLICT (hour, tenant, category, from_domain) DO UPDATE SET
          sent = r.sent + excluded.sent, delivered = r.delivered + excluded.delivered,
          hard_bounced = r.hard_bounced + excluded.hard_bounced,
          soft_bounced = r.soft_bounced + excluded.soft_bounced, complained = r.complained + excluded.complained`,
      records: JSON.stringify(
        moving.map((c) => ({
          id: c.notificationId,
          sent: c.sent,
          delivered: c.delivered,
          hard_bounced: c.hardBounced,
          soft_bounced: c.softBounced,
          complained: c.complained,
        })),
      ),
    };
  },

  /**
   * Every stored row with a count above zero, in key order; from the hour `since` on when given
   * (the retention horizon: older hours outlive their notifications, see rebuild).
   */
  async stored(sql: SqlRunner, since?: Date): Promise<RollupRow[]> {
    const { rows } = await sql.query<RollupRow>(
      `${SELECT_ROWS} WHERE sent + delivered + hard_bounced + soft_bounced + complained <> 0
        ${since ? "AND hour >= $1" : ""}
        ORDER BY hour, tenant, category, from_domain`,
      since ? [since] : [],
    );
    return rows;
  },

  /** The rows as the notifications and the log define them now, in key order; from the hour `since` on when given. */
  async recomputed(sql: SqlRunner, since?: Date): Promise<RollupRow[]> {
    const { rows } = await sql.query<RollupRow>(
      `SELECT * FROM (${recomputeSql({ since: since !== undefined })}) AS x(hour, tenant, category, "fromDomain", sent, delivered, "hardBounced", "softBounced", complained)
        ORDER BY hour, tenant, category, "fromDomain"`,
      since ? [since] : [],
    );
    return rows;
  },

  /**
   * Replace the table (from the hour `since` on, when given) with its recomputation, in the
   * caller's transaction. The lock makes the worker's batches wait: one that committed before is in
   * the recomputation; one that commits after adds its changes to it, and its events were not
   * visible to it. Hours before `since` are kept as they are: their notifications are gone.
   */
  async replace(client: SqlClient, since?: Date): Promise<void> {
    await client.query("LOCK TABLE reputation_hourly IN SHARE ROW EXCLUSIVE MODE");
    const values = since ? [since] : [];
    await client.query(`DELETE FROM reputation_hourly ${since ? "WHERE hour >= $1" : ""}`, values);
    await client.query(
      `INSERT INTO reputation_hourly (${COLUMNS}) ${recomputeSql({ since: since !== undefined })}`,
      values,
    );
  },

  /**
   * Take these notifications' facts out of their hours' rows, before they are deleted with their
   * events while their hour is still one rebuild recomputes (retention's rare case).
   */
  async forget(client: SqlClient, notificationIds: string[]): Promise<void> {
    if (notificationIds.length === 0) return;
    await client.query(
      `UPDATE reputation_hourly AS r
          SET sent = r.sent - g.sent, delivered = r.delivered - g.delivered,
              hard_bounced = r.hard_bounced - g.hard_bounced, soft_bounced = r.soft_bounced - g.soft_bounced,
              complained = r.complained - g.complained
         FROM (${recomputeSql({ only: "AND e.notification_id = ANY($1::uuid[])" })})
              AS g(hour, tenant, category, from_domain, sent, delivered, hard_bounced, soft_bounced, complained)
        WHERE (r.hour, r.tenant, r.category, r.from_domain) = (g.hour, g.tenant, g.category, g.from_domain)`,
      [notificationIds],
    );
  },

  /** The counts of the matching rows since `since`, per hour or UTC day, oldest first (buckets with rows only). */
  async series(sql: SqlRunner, filter: ReputationFilter, bucket: Bucket): Promise<ReputationPoint[]> {
    const { rows } = await sql.query<ReputationPoint>(
      `SELECT date_trunc($1, hour, 'UTC') AS at, sum(sent)::int AS sent, sum(delivered)::int AS delivered,
              sum(hard_bounced)::int AS "hardBounced", sum(soft_bounced)::int AS "softBounced",
              sum(complained)::int AS complained
         FROM reputation_hourly
        WHERE hour >= $2 AND ($3::text IS NULL OR tenant = $3) AND ($4::text IS NULL OR category = $4)
          AND ($5::text IS NULL OR from_domain = $5)
        GROUP BY 1 ORDER BY 1`,
      [bucket, filter.since, filter.tenant ?? null, filter.category ?? null, filter.fromDomain ?? null],
    );
    return rows;
  },

  /** Per tenant since `since` ('' for none), most sends first; `series` gives each one's days. */
  async byTenant(sql: SqlRunner, since: Date): Promise<(RollupCounts & { tenant: string })[]> {
    const { rows } = await sql.query<RollupCounts & { tenant: string }>(
      `SELECT tenant, sum(sent)::int AS sent, sum(delivered)::int AS delivered,
              sum(hard_bounced)::int AS "hardBounced", sum(soft_bounced)::int AS "softBounced",
              sum(complained)::int AS complained
         FROM reputation_hourly WHERE hour >= $1
        GROUP BY tenant ORDER BY sum(sent) DESC, tenant`,
      [since],
    );
    return rows;
  },

  /** Per tenant ('' for none) and UTC day since `since`: the support page's charts. Days without rows are absent. */
  async dailyByTenant(sql: SqlRunner, since: Date): Promise<(ReputationPoint & { tenant: string })[]> {
    const { rows } = await sql.query<ReputationPoint & { tenant: string }>(
      `SELECT tenant, date_trunc('day', hour, 'UTC') AS at, sum(sent)::int AS sent, sum(delivered)::int AS delivered,
              sum(hard_bounced)::int AS "hardBounced", sum(soft_bounced)::int AS "softBounced",
              sum(complained)::int AS complained
         FROM reputation_hourly WHERE hour >= $1
        GROUP BY tenant, 2 ORDER BY tenant, 2`,
      [since],
    );
    return rows;
  },
};
