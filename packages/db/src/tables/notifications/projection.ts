// The columns the worker derives from a notification's event log (its projection): read under the
// row lock, and written by the worker's batched statements, the only writers of them.
import type { DeliveryState } from "../../../generated/client/index.js";
import { type BatchWrite, type SqlClient, writeTogether } from "../../sql.ts";

/** The columns the worker derives from the event log. */
export interface Projection {
  state: DeliveryState;
  stateChangedAt: Date | null;
  stateEventType: string | null;
  stateEventId: string | null;
  openCount: number;
  clickCount: number;
  firstOpenedAt: Date | null;
  firstClickedAt: Date | null;
}

/** A notification's stored engagement counters: the part of its projection the worker adds up. */
export type EngagementCounters = Pick<Projection, "openCount" | "clickCount" | "firstOpenedAt" | "firstClickedAt">;

/** What the worker's projection update also keeps, from the events it applies now (by notification id). */
export interface ProjectionExtras {
  /** The email's Message-ID, from the first event that carries it: the events' stored payloads leave it out. */
  messageIds?: ReadonlyMap<string, string>;
  /**
   * The earliest time of the delivery events applied now: the notification's first_event_at becomes
   * the earlier of it and its own, so every applied event of the notification is from then on (the
   * worker reads them from that day's partition on: events.appendAndAdopt).
   */
  firstEventAt?: ReadonlyMap<string, Date>;
}

const PROJECTION_COLUMNS = `state::text AS "state", state_changed_at AS "stateChangedAt",
  state_event_type AS "stateEventType", state_event_id AS "stateEventId", open_count AS "openCount",
  click_count AS "clickCount", first_opened_at AS "firstOpenedAt", first_clicked_at AS "firstClickedAt"`;

/**
 * Projections as the JSON records a batch statement reads with `jsonb_to_recordset` (each statement
 * names the columns it takes).
 */
export function projectionRecords(
  projections: Map<string, Projection>,
  { messageIds = new Map(), firstEventAt = new Map() }: ProjectionExtras = {},
): string {
  return JSON.stringify(
    [...projections].map(([id, projection]) => ({
      id,
      message_id: messageIds.get(id) ?? null,
      first_event_at: firstEventAt.get(id) ?? null,
      state: projection.state,
      state_changed_at: projection.stateChangedAt,
      state_event_type: projection.stateEventType,
      state_event_id: projection.stateEventId,
      open_count: projection.openCount,
      click_count: projection.clickCount,
      first_opened_at: projection.firstOpenedAt,
      first_clicked_at: projection.firstClickedAt,
    })),
  );
}

/**
 * The update of these notifications' projections (locked by the caller), with what `extras` also
 * keeps of the events applied now; null when none.
 */
function projectionUpdate(projections: Map<string, Projection>, extras?: ProjectionExtras): BatchWrite | null {
  if (projections.size === 0) return null;
  return {
    name: "projections",
    statement: (records) => `UPDATE notifications AS n SET
        state = v.state, state_changed_at = v.state_changed_at, state_event_type = v.state_event_type,
        state_event_id = v.state_event_id, open_count = v.open_count, click_count = v.click_count,
        first_opened_at = v.first_opened_at, first_clicked_at = v.first_clicked_at,
        message_id = COALESCE(n.message_id, v.message_id),
        first_event_at = LEAST(n.first_event_at, v.first_event_at), updated_at = now()
       FROM jsonb_to_recordset(${records}::jsonb)
            AS v(id uuid, state "DeliveryState", state_changed_at timestamptz, state_event_type text,
                 state_event_id text, open_count int, click_count int, first_opened_at timestamptz,
                 first_clicked_at timestamptz, message_id text, first_event_at timestamptz)
      WHERE n.id = v.id`,
    records: projectionRecords(projections, extras),
  };
}

export const notificationProjections = {
  /**
   * A notification's stored projection, read under its row lock: `share` keeps the worker from
   * changing it meanwhile, `update` also lets the caller rewrite it.
   */
  async lockedProjection(client: SqlClient, id: string, mode: "share" | "update"): Promise<Projection | null> {
    const { rows } = await client.query<Projection>(
      `SELECT ${PROJECTION_COLUMNS} FROM notifications WHERE id = $1::uuid FOR ${mode === "share" ? "SHARE" : "UPDATE"}`,
      [id],
    );
    return rows[0] ?? null;
  },

  projectionUpdate,

  async saveProjections(client: SqlClient, projections: Map<string, Projection>): Promise<void> {
    await writeTogether(client, [projectionUpdate(projections)]);
  },
};
