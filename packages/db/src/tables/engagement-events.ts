// engagement_events: opens and clicks, kept apart from delivery state. The worker writes them (SQL,
// in batches); the timeline reads them.
import type { EngagementKind } from "../../generated/client/index.js";
import type { DbClient } from "../client.ts";
import { type BatchWrite, type SqlClient, type SqlPool, writeTogether } from "../sql.ts";

export interface EngagementRow {
  svixId: string;
  notificationId: string;
  kind: EngagementKind;
  occurredAt: Date;
  link: string | null;
  userAgent: string | null;
  ipAddress: string | null;
}

/** Word for word the predicate of engagement_events_pii_idx. */
const ROW_HAS_PII = "(ip_address IS NOT NULL OR user_agent IS NOT NULL)";

export const engagement = {
  /** The insert of newly applied opens and clicks (a svix-id logged already is left as it is); null when none. */
  insertion(rows: EngagementRow[]): BatchWrite | null {
    if (rows.length === 0) return null;
    return {
      name: "engagement_rows",
      statement: (
        records,
      ) => `INSERT INTO engagement_events (svix_id, notification_id, kind, occurred_at, link, user_agent, ip_address)
       SELECT svix_id, notification_id, kind, occurred_at, link, user_agent, ip_address
         FROM jsonb_to_recordset(${records}::jsonb) AS r(svix_id text, notification_id uuid, kind "EngagementKind",
                                                       occurred_at timestamptz, link text, user_agent text, ip_address text)
       ON CONFLICT (svix_id) DO NOTHING`,
      records: JSON.stringify(
        rows.map((row) => ({
          svix_id: row.svixId,
          notification_id: row.notificationId,
          kind: row.kind,
          occurred_at: row.occurredAt,
          link: row.link,
          user_agent: row.userAgent,
          ip_address: row.ipAddress,
        })),
      ),
    };
  },

  async insert(client: SqlClient, rows: EngagementRow[]): Promise<void> {
    await writeTogether(client, [engagement.insertion(rows)]);
  },

  /**
   * Clear IP addresses and user agents of rows older than `before` (their own time), at most
   * `chunkSize` rows per statement (skipping rows another transaction holds); answers the rows changed.
   */
  async scrubPii(pool: SqlPool, { before, chunkSize }: { before: Date; chunkSize: number }): Promise<number> {
    let changed = 0;
    for (;;) {
      const { rowCount } = await pool.query(
        `UPDATE engagement_events SET ip_address = NULL, user_agent = NULL
          WHERE id IN (SELECT id FROM engagement_events WHERE occurred_at < $1 AND ${ROW_HAS_PII}
                        ORDER BY occurred_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
        [before, chunkSize],
      );
      changed += rowCount ?? 0;
      if ((rowCount ?? 0) < chunkSize) return changed;
    }
  },

  // Reads for the timeline and the tests (Prisma).

  /** The engagement rows of these events (svix-ids), for a page of a timeline. */
  listForEvents(db: DbClient, svixIds: string[]) {
    return db.engagementEvent.findMany({ where: { svixId: { in: svixIds } } });
  },

  listForNotification(db: DbClient, notificationId: string) {
    return db.engagementEvent.findMany({
      where: { notificationId },
      orderBy: [{ occurredAt: "asc" }, { svixId: "asc" }],
    });
  },
};
