// engagement_events: opens and clicks applied to a notification, kept apart from delivery state (and
// from delivery_events: an applied open or click is only here). Partitioned by day of occurred_at; the
// primary key (notification_id, occurred_at, svix_id) deduplicates a redelivery and orders the
// timeline's pages. The worker writes them (events.appendAndAdopt); the timeline reads them.
import type { EngagementKind } from "../../generated/client/index.js";
import type { DbClient } from "../client.ts";
import type { SqlClient, SqlPool } from "../sql.ts";

export interface EngagementRow {
  svixId: string;
  notificationId: string;
  kind: EngagementKind;
  occurredAt: Date;
  link: string | null;
  userAgent: string | null;
  ipAddress: string | null;
}

/** What of an engagement row a reader folds: its svix-id, notification and Resend-shaped body. */
export interface LoggedEngagement {
  svixId: string;
  notificationId: string;
  payload: unknown;
}

/**
 * An engagement row as the body Resend sent, as far as the row holds it (the fold and the timeline
 * read its type, time and click; from, to and subject come from the notification when given).
 */
export function engagementPayload(
  row: Pick<EngagementRow, "kind" | "occurredAt" | "link" | "userAgent" | "ipAddress">,
  about: { emailId: string; from?: string; recipients?: string[]; subject?: string },
): unknown {
  const at = row.occurredAt.toISOString();
  return {
    type: `email.${row.kind}`,
    created_at: at,
    data: {
      email_id: about.emailId,
      created_at: at,
      from: about.from ?? "",
      to: about.recipients ?? [],
      subject: about.subject ?? "",
      ...(row.kind === "clicked"
        ? {
            click: {
              link: row.link ?? "",
              timestamp: at,
              ...(row.ipAddress === null ? {} : { ipAddress: row.ipAddress }),
              ...(row.userAgent === null ? {} : { userAgent: row.userAgent }),
            },
          }
        : {}),
    },
  };
}

/** Word for word the predicate of engagement_events_pii_idx. */
const ROW_HAS_PII = "(ip_address IS NOT NULL OR user_agent IS NOT NULL)";

export const engagement = {
  /**
   * Clear IP addresses and user agents of rows older than `before` (their own time), at most
   * `chunkSize` rows per statement (skipping rows another transaction holds); answers the rows changed.
   */
  async scrubPii(pool: SqlPool, { before, chunkSize }: { before: Date; chunkSize: number }): Promise<number> {
    let changed = 0;
    for (;;) {
      const { rowCount } = await pool.query(
        `UPDATE engagement_events SET ip_address = NULL, user_agent = NULL
          WHERE (notification_id, occurred_at, svix_id) IN (
                  SELECT notification_id, occurred_at, svix_id FROM engagement_events
                   WHERE occurred_at < $1 AND ${ROW_HAS_PII} ORDER BY occurred_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
        [before, chunkSize],
      );
      changed += rowCount ?? 0;
      if ((rowCount ?? 0) < chunkSize) return changed;
    }
  },

  /** Every open and click of these notifications, as bodies to fold (the rebuild's). */
  async loggedOf(client: SqlClient | SqlPool, notificationIds: string[]): Promise<LoggedEngagement[]> {
    if (notificationIds.length === 0) return [];
    const { rows } = await client.query<{
      svix_id: string;
      notification_id: string;
      kind: EngagementKind;
      occurred_at: Date;
      link: string | null;
      email_id: string;
    }>(
      `SELECT e.svix_id, e.notification_id::text AS notification_id, e.kind::text AS kind, e.occurred_at, e.link,
              COALESCE(n.resend_email_id, n.id::text) AS email_id
         FROM engagement_events AS e JOIN notifications AS n ON n.id = e.notification_id
        WHERE e.notification_id = ANY($1::uuid[])`,
      [notificationIds],
    );
    return rows.map((row) => ({
      svixId: row.svix_id,
      notificationId: row.notification_id,
      payload: engagementPayload(
        { kind: row.kind, occurredAt: row.occurred_at, link: row.link, userAgent: null, ipAddress: null },
        { emailId: row.email_id },
      ),
    }));
  },

  // Reads for the timeline and the tests (Prisma).

  /**
   * One page of a notification's opens and clicks, in (occurredAt, svixId) order, after `after` (the
   * last of the previous page): the primary key's order. Answers up to `limit` rows.
   */
  listPage(
    db: DbClient,
    notificationId: string,
    { after, limit }: { after?: { occurredAt: Date; svixId: string }; limit: number },
  ) {
    return db.engagementEvent.findMany({
      where: {
        notificationId,
        ...(after
          ? {
              OR: [
                { occurredAt: { gt: after.occurredAt } },
                { occurredAt: after.occurredAt, svixId: { gt: after.svixId } },
              ],
            }
          : {}),
      },
      orderBy: [{ occurredAt: "asc" }, { svixId: "asc" }],
      take: limit,
    });
  },

  listForNotification(db: DbClient, notificationId: string) {
    return db.engagementEvent.findMany({
      where: { notificationId },
      orderBy: [{ occurredAt: "asc" }, { svixId: "asc" }],
    });
  },
};
