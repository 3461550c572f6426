// What the sweeper reads and keeps on notifications: those stuck long enough to ask Resend about,
// and what Resend's API answered, on the worker's pool, one statement at a time.
import type { DeliveryState } from "../../../generated/client/index.js";
import type { SqlPool } from "../../sql.ts";

/** A notification the sweeper should ask Resend about. */
export interface SweepCandidate {
  id: string;
  resendEmailId: string;
  state: DeliveryState;
  lastEventAt: Date;
}

/** What one emails.get told the sweeper: Resend's last_event, or that Resend does not know the email. */
export interface ResendCheck {
  at: string;
  outcome: "healed" | "current" | "not_found";
  lastEvent: string | null;
  /** The event appended to the log, when the check healed the notification. */
  appended?: string;
}

export const notificationSweep = {
  /**
   * What the sweeper asks Resend about: notifications with a Resend email id, in a state that is not
   * final, whose last event (or recording) is older than `staleBefore`, and that were not checked
   * since their last event, or were checked at least as long ago as they were old then (each check
   * of a still-stuck email waits twice as long as the one before). Oldest first.
   */
  async sweepCandidates(
    sql: SqlPool,
    { staleAfterMs, now = new Date(), limit }: { staleAfterMs: number; now?: Date; limit: number },
  ): Promise<SweepCandidate[]> {
    const { rows } = await sql.query<SweepCandidate>(
      `SELECT id::text AS id, resend_email_id AS "resendEmailId", state, COALESCE(state_changed_at, created_at) AS "lastEventAt"
         FROM notifications
        WHERE resend_email_id IS NOT NULL
          AND state IN ('recorded', 'scheduled', 'sent', 'delivery_delayed', 'delivered')
          AND COALESCE(state_changed_at, created_at) < $1::timestamptz - make_interval(secs => $2::float8 / 1000)
          AND (resend_checked_at IS NULL
               OR resend_checked_at <= COALESCE(state_changed_at, created_at)
               OR $1::timestamptz - resend_checked_at >= resend_checked_at - COALESCE(state_changed_at, created_at))
        ORDER BY COALESCE(state_changed_at, created_at)
        LIMIT $3`,
      [now.toISOString(), staleAfterMs, limit],
    );
    return rows;
  },

  /** The state a notification is in now (null when it is gone). */
  async stateOf(sql: SqlPool, id: string): Promise<DeliveryState | null> {
    const { rows } = await sql.query<{ state: DeliveryState }>("SELECT state FROM notifications WHERE id = $1::uuid", [
      id,
    ]);
    return rows[0]?.state ?? null;
  },

  /** Keep what the sweeper learned from Resend's API (a 404 included) on the notification. */
  async recordResendCheck(sql: SqlPool, id: string, check: ResendCheck): Promise<void> {
    await sql.query(
      "UPDATE notifications SET resend_checked_at = $2::timestamptz, resend_check = $3::jsonb WHERE id = $1::uuid",
      [id, check.at, JSON.stringify(check)],
    );
  },
};
