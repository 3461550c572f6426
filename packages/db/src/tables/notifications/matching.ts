// How the worker matches events to notifications (in SQL, in its transactions): it locks the
// notifications the events name, attaches the email ids tagged events reveal, and asks which
// parked (unmatched) email ids a notification carries by now.
import type { SqlClient, SqlPool } from "../../sql.ts";
import type { EngagementCounters } from "./projection.ts";

/**
 * A notification the worker holds locked: its ids, and its engagement counters as stored, read
 * with the lock (FOR UPDATE reads the latest committed row). Each event flips to applied once,
 * under that lock, so the stored counters plus the transaction's newly applied opens and clicks
 * are exact, and no second read is needed.
 */
export interface LockedNotification {
  id: string;
  emailId: string | null;
  counters: EngagementCounters;
}

const LOCKED_COLUMNS = `id::text AS id, resend_email_id AS email_id, open_count, click_count,
       first_opened_at, first_clicked_at`;

interface LockedRow {
  id: string;
  email_id: string | null;
  open_count: number;
  click_count: number;
  first_opened_at: Date | null;
  first_clicked_at: Date | null;
}

const lockedNotification = (row: LockedRow): LockedNotification => ({
  id: row.id,
  emailId: row.email_id,
  counters: {
    openCount: row.open_count,
    clickCount: row.click_count,
    firstOpenedAt: row.first_opened_at,
    firstClickedAt: row.first_clicked_at,
  },
});

export const notificationMatching = {
  /** Lock the notifications carrying these email ids, in id order (no deadlocks between batches). */
  async lockByEmailIds(client: SqlClient, emailIds: string[]): Promise<LockedNotification[]> {
    if (emailIds.length === 0) return [];
    const { rows } = await client.query<LockedRow>(
      `SELECT ${LOCKED_COLUMNS} FROM notifications
        WHERE resend_email_id = ANY($1::text[]) ORDER BY id FOR UPDATE`,
      [emailIds],
    );
    return rows.map(lockedNotification);
  },

  /**
   * Lock, in id order, the notifications carrying these email ids and those these ids name (the
   * `mailstate_id` tag of a send): answers each locked notification's ids and stored counters.
   */
  async lockMatches(client: SqlClient, emailIds: string[], notificationIds: string[]): Promise<LockedNotification[]> {
    if (emailIds.length === 0 && notificationIds.length === 0) return [];
    const { rows } = await client.query<LockedRow>(
      `SELECT ${LOCKED_COLUMNS} FROM notifications
        WHERE resend_email_id = ANY($1::text[]) OR id = ANY($2::uuid[]) ORDER BY id FOR UPDATE`,
      [emailIds, notificationIds],
    );
    return rows.map(lockedNotification);
  },

  /**
   * Give notifications (locked by the caller) the Resend email id their tagged events revealed, as
   * the SDK's attach would (send-outcomes.ts): only where none is set yet and no other notification
   * carries it. A send Resend's events speak of went out, so a refusal noted on it is cleared.
   * Answers email id → id of those attached.
   */
  async attachEmailIds(client: SqlClient, pairs: { id: string; emailId: string }[]): Promise<Map<string, string>> {
    if (pairs.length === 0) return new Map();
    const { rows } = await client.query<{ id: string; email_id: string }>(
      `UPDATE notifications AS n SET resend_email_id = v.email_id, send_error = NULL, updated_at = now()
         FROM jsonb_to_recordset($1::jsonb) AS v(id uuid, email_id text)
        WHERE n.id = v.id AND n.resend_email_id IS NULL
          AND NOT EXISTS (SELECT 1 FROM notifications AS o WHERE o.resend_email_id = v.email_id)
        RETURNING n.id::text AS id, n.resend_email_id AS email_id`,
      [JSON.stringify(pairs.map((pair) => ({ id: pair.id, email_id: pair.emailId })))],
    );
    return new Map(rows.map((row) => [row.email_id, row.id]));
  },

  /** Which of these email ids a notification carries now. */
  async carrying(pool: SqlPool, emailIds: string[]): Promise<string[]> {
    if (emailIds.length === 0) return [];
    const { rows } = await pool.query<{ email_id: string }>(
      "SELECT resend_email_id AS email_id FROM notifications WHERE resend_email_id = ANY($1::text[])",
      [emailIds],
    );
    return rows.map((row) => row.email_id);
  },
};
