// soft_bounce_counters: each address's run of transient bounces on one suppression list (the
// tenant's in tenant scope, else the null list), which suppresses it there at a threshold. The
// worker counts and resets runs; taking an address off a list (API, CLI) resets its run by the same rule.
import type { DbClient } from "../client.ts";
import { type BatchWrite, execute, type Runner, type SqlClient } from "../sql.ts";

/** A run of soft bounces ends at `at`: a delivery's event time, or when ops took the address off the list. */
export interface SoftBounceReset {
  email: string;
  /** The list whose run ends (null: the null list). */
  tenant: string | null;
  at: Date;
}

export const softBounces = {
  /**
   * One more transient bounce in the address's run; answers the run's length, or 0 when the bounce
   * is older than the end of the address's last run (event time) and so not in the current one.
   */
  async count(
    client: SqlClient,
    run: { email: string; tenant: string | null },
    eventId: string,
    at: Date,
  ): Promise<number> {
    const { rows } = await client.query<{ count: number; counted: boolean }>(
      `INSERT INTO soft_bounce_counters (email, tenant, count, last_event_id, last_bounce_at, updated_at)
       VALUES ($1, $4, 1, $2, $3, now())
       ON CONFLICT (email, tenant) DO UPDATE SET
         count = CASE WHEN $3 <= soft_bounce_counters.last_delivered_at THEN soft_bounce_counters.count
                      ELSE soft_bounce_counters.count + 1 END,
         last_event_id = CASE WHEN $3 > soft_bounce_counters.last_delivered_at IS NOT FALSE
                               AND $3 >= soft_bounce_counters.last_bounce_at IS NOT FALSE
                              THEN $2 ELSE soft_bounce_counters.last_event_id END,
         last_bounce_at = CASE WHEN $3 <= soft_bounce_counters.last_delivered_at THEN soft_bounce_counters.last_bounce_at
                               ELSE GREATEST(soft_bounce_counters.last_bounce_at, $3) END,
         updated_at = now()
       RETURNING count, (last_delivered_at IS NULL OR $3 > last_delivered_at) AS counted`,
      [run.email, eventId, at, run.tenant],
    );
    const row = rows[0];
    return row?.counted ? row.count : 0;
  },

  /**
   * The end of these addresses' runs; null when none. A reset ends the run of soft bounces it
   * comes after in event time: a late webhook of an earlier delivery leaves a newer run alone.
   * Either way the address keeps the newest reset's time (last_delivered_at), so a late webhook of
   * a bounce older than it is not counted into a run. An address with no counter has no run.
   */
  resetting(resets: SoftBounceReset[]): BatchWrite | null {
    if (resets.length === 0) return null;
    return {
      name: "soft_bounce_resets",
      statement: (records) => `UPDATE soft_bounce_counters AS c
          SET last_delivered_at = GREATEST(c.last_delivered_at, r.at),
              count = CASE WHEN c.last_bounce_at < r.at THEN 0 ELSE c.count END,
              updated_at = now()
         FROM (SELECT email, tenant, max(at) AS at
                 FROM jsonb_to_recordset(${records}::jsonb) AS x(email text, tenant text, at timestamptz)
                GROUP BY email, tenant) AS r
        WHERE c.email = r.email AND c.tenant IS NOT DISTINCT FROM r.tenant`,
      records: JSON.stringify(resets.map(({ email, tenant, at }) => ({ email, tenant, at }))),
    };
  },

  /** End these addresses' runs now, on either client (see resetting). */
  async reset(runner: Runner, resets: SoftBounceReset[]): Promise<void> {
    const write = softBounces.resetting(resets);
    if (write) await execute(runner, write.statement("$1"), [write.records]);
  },

  // Reads (Prisma): the support pages and the tests.

  find(db: DbClient, email: string, tenant: string | null = null) {
    return db.softBounceCounter.findFirst({ where: { email, tenant } });
  },

  /** The current run on one list of each of these addresses that has one (no row means zero). */
  countsOf(db: DbClient, emails: string[], tenant: string | null = null) {
    if (emails.length === 0) return Promise.resolve([]);
    return db.softBounceCounter.findMany({
      where: { email: { in: emails }, tenant },
      select: { email: true, count: true, lastBounceAt: true, lastEventId: true },
    });
  },
};
