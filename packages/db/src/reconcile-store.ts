// The worker's hot path in plain SQL over node-postgres: every statement takes a whole batch
// (unnest arrays), so a batch of events costs a handful of round trips, not dozens of ORM calls.
// Same tables and rules as the Prisma repositories; the Prisma client serves everything else.
import pg from "pg";
import type { EngagementKind, EventStatus, SuppressionReason } from "../generated/client/index.js";
import { type ConnectionLimits, connectionSettings } from "./connection.ts";
import type { Projection } from "./notifications.ts";

export type SqlPool = pg.Pool;
export type SqlClient = pg.PoolClient;

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
  const pool = new pg.Pool({ connectionString: databaseUrl, max: poolSize, ...connectionSettings(limits) });
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

export interface EventRow {
  svixId: string;
  type: string;
  occurredAt: Date;
  /** When the API received the webhook (what the log shows as received). */
  receivedAt: Date;
  emailId: string | null;
  payload: unknown;
  notificationId: string | null;
  status: EventStatus;
}

export interface StoredEvent {
  svixId: string;
  payload: unknown;
  notificationId: string;
}

export interface EngagementRow {
  svixId: string;
  notificationId: string;
  kind: EngagementKind;
  occurredAt: Date;
  link: string | null;
  userAgent: string | null;
  ipAddress: string | null;
}

/**
 * JSON text PostgreSQL takes: jsonb and text refuse U+0000, which JSON allows and a webhook may
 * carry. It becomes U+FFFD, so the event is logged and applied rather than refused forever.
 * Only a real `\u0000` escape is replaced, not the text `\\u0000` (an escaped backslash).
 */
function jsonForPostgres(value: unknown): string {
  return JSON.stringify(value).replace(/(?<!\\)((?:\\\\)*)\\u0000/g, "$1\\ufffd");
}

/** A delivery to `email` at `at` (event time): it ends a run of soft bounces older than it. */
export interface SoftBounceReset {
  email: string;
  at: Date;
}

/**
 * A delivery ends the run of soft bounces it comes after in event time: a late webhook of an
 * earlier delivery leaves a newer run alone. Either way the address keeps the newest delivery's
 * time, so a late webhook of a bounce older than it is not counted into a run.
 */
const resetSoftBouncesSql = (emails: string, times: string) => `UPDATE soft_bounce_counters AS c
    SET last_delivered_at = GREATEST(c.last_delivered_at, r.at),
        count = CASE WHEN c.last_bounce_at < r.at THEN 0 ELSE c.count END,
        updated_at = now()
   FROM (SELECT email, max(at) AS at FROM unnest(${emails}::text[], ${times}::timestamptz[]) AS x(email, at)
          GROUP BY email) AS r
  WHERE c.email = r.email`;

/** The first keys of the worker's advisory locks on addresses, so they share no space with others'. */
const ADDRESS_LOCK_SPACE = 0x6d73; // "ms"
const ADDRESS_GATE_SPACE = 0x6d74;
/** Address locks one transaction takes at most; PostgreSQL's default budget is 64 per connection. */
const MAX_ADDRESS_LOCKS = 48;

/** Word for word the predicate of the partial index delivery_events_applied_delivery_idx, so the planner uses it. */
const NOT_ENGAGEMENT = "type NOT IN ('email.opened', 'email.clicked')";

/** A notification's stored engagement counters: the part of its projection the worker adds up. */
export interface EngagementCounters {
  openCount: number;
  clickCount: number;
  firstOpenedAt: Date | null;
  firstClickedAt: Date | null;
}

export const reconcileStore = {
  /** Lock the notifications carrying these email ids, in id order (no deadlocks between batches). */
  async lockNotifications(client: SqlClient, emailIds: string[]): Promise<Map<string, string>> {
    if (emailIds.length === 0) return new Map();
    const { rows } = await client.query<{ id: string; email_id: string }>(
      `SELECT id::text AS id, resend_email_id AS email_id FROM notifications
        WHERE resend_email_id = ANY($1::text[]) ORDER BY id FOR UPDATE`,
      [emailIds],
    );
    return new Map(rows.map((row) => [row.email_id, row.id]));
  },

  /**
   * Lock, in id order, the notifications carrying these email ids and those these ids name (the
   * `mailstate_id` tag of a send): answers each locked notification's id and Resend email id.
   */
  async lockMatches(
    client: SqlClient,
    emailIds: string[],
    notificationIds: string[],
  ): Promise<{ id: string; emailId: string | null }[]> {
    if (emailIds.length === 0 && notificationIds.length === 0) return [];
    const { rows } = await client.query<{ id: string; email_id: string | null }>(
      `SELECT id::text AS id, resend_email_id AS email_id FROM notifications
        WHERE resend_email_id = ANY($1::text[]) OR id = ANY($2::uuid[]) ORDER BY id FOR UPDATE`,
      [emailIds, notificationIds],
    );
    return rows.map((row) => ({ id: row.id, emailId: row.email_id }));
  },

  /**
   * Give notifications (locked by the caller) the Resend email id their tagged events revealed, as
   * the SDK's attach would: only where none is set yet and no other notification carries it. A send
   * Resend's events speak of went out, so a refusal noted on it is cleared. Answers those attached.
   */
  async attachEmailIds(client: SqlClient, pairs: { id: string; emailId: string }[]): Promise<Map<string, string>> {
    if (pairs.length === 0) return new Map();
    const { rows } = await client.query<{ id: string; email_id: string }>(
      `UPDATE notifications AS n SET resend_email_id = v.email_id, send_error = NULL, updated_at = now()
         FROM unnest($1::uuid[], $2::text[]) AS v(id, email_id)
        WHERE n.id = v.id AND n.resend_email_id IS NULL
          AND NOT EXISTS (SELECT 1 FROM notifications AS o WHERE o.resend_email_id = v.email_id)
        RETURNING n.id::text AS id, n.resend_email_id AS email_id`,
      [pairs.map((pair) => pair.id), pairs.map((pair) => pair.emailId)],
    );
    return new Map(rows.map((row) => [row.email_id, row.id]));
  },

  /** Take these events, logged as invalid, out of the log so that they are reconciled again. */
  async removeInvalid(client: SqlClient, svixIds: string[]): Promise<void> {
    if (svixIds.length === 0) return;
    await client.query("DELETE FROM delivery_events WHERE svix_id = ANY($1::text[]) AND status = 'invalid'", [svixIds]);
  },

  /** Whether any event of this email id still waits, unmatched, for a notification to carry it. */
  async hasUnmatched(pool: SqlPool, emailId: string): Promise<boolean> {
    const { rows } = await pool.query(
      "SELECT 1 FROM delivery_events WHERE email_id = $1 AND status = 'unmatched' LIMIT 1",
      [emailId],
    );
    return rows.length > 0;
  },

  /**
   * A notification's stored projection, read under its row lock: `share` keeps the worker from
   * changing it meanwhile, `update` also lets the caller rewrite it.
   */
  async lockedProjection(client: SqlClient, id: string, mode: "share" | "update"): Promise<Projection | null> {
    const { rows } = await client.query<Projection>(
      `SELECT state::text AS "state", state_changed_at AS "stateChangedAt", state_event_type AS "stateEventType",
              state_event_id AS "stateEventId", open_count AS "openCount", click_count AS "clickCount",
              first_opened_at AS "firstOpenedAt", first_clicked_at AS "firstClickedAt"
         FROM notifications WHERE id = $1::uuid FOR ${mode === "share" ? "SHARE" : "UPDATE"}`,
      [id],
    );
    return rows[0] ?? null;
  },

  /**
   * One round trip for the heart of a batch: append the events (a logged svix-id is left as it
   * is), flip the parked events of these email ids to applied on their notification, and list the
   * delivery events these notifications had applied before this statement. All three read one
   * snapshot, so the lists never overlap. `applied` leaves out opens and clicks: they never move
   * the state, and a notification may have thousands (its counters are added up incrementally,
   * see engagementCountersOf); the partial index delivery_events_applied_delivery_idx serves it.
   */
  async appendAndAdopt(
    client: SqlClient,
    events: EventRow[],
    matched: { emailIds: string[]; notificationIds: string[] },
  ): Promise<{ inserted: Set<string>; adopted: StoredEvent[]; applied: { svixId: string; notificationId: string }[] }> {
    const { rows } = await client.query<{ kind: string; svix_id: string; payload: unknown; notification_id: string }>(
      `WITH inserted AS (
         INSERT INTO delivery_events (svix_id, type, occurred_at, received_at, email_id, payload, notification_id, status)
         SELECT svix_id, type, occurred_at, received_at, email_id, payload, notification_id, status
           FROM jsonb_to_recordset($1::jsonb) AS x(svix_id text, type text, occurred_at timestamptz,
                                                  received_at timestamptz, email_id text, payload jsonb,
                                                  notification_id uuid, status "EventStatus")
         ON CONFLICT (svix_id) DO NOTHING
         RETURNING svix_id
       ), adopted AS (
         UPDATE delivery_events AS e SET status = 'applied', notification_id = n.id, adopted_at = now()
           FROM notifications AS n
          WHERE n.resend_email_id = ANY($2::text[]) AND e.email_id = n.resend_email_id AND e.status = 'unmatched'
         RETURNING e.svix_id, e.payload, n.id AS notification_id
       ), applied AS (
         SELECT svix_id, notification_id FROM delivery_events
          WHERE notification_id = ANY($3::uuid[]) AND status = 'applied' AND ${NOT_ENGAGEMENT}
       )
       SELECT 'inserted' AS kind, svix_id, NULL::jsonb AS payload, NULL AS notification_id FROM inserted
       UNION ALL SELECT 'adopted', svix_id, payload, notification_id::text FROM adopted
       UNION ALL SELECT 'applied', svix_id, NULL, notification_id::text FROM applied`,
      [
        // One JSON document rather than seven arrays: pg would escape every payload into an array literal.
        jsonForPostgres(
          events.map((e) => ({
            svix_id: e.svixId,
            type: e.type,
            occurred_at: e.occurredAt,
            received_at: e.receivedAt,
            email_id: e.emailId,
            payload: e.payload,
            notification_id: e.notificationId,
            status: e.status,
          })),
        ),
        matched.emailIds,
        matched.notificationIds,
      ],
    );
    const result = {
      inserted: new Set<string>(),
      adopted: [] as StoredEvent[],
      applied: [] as { svixId: string; notificationId: string }[],
    };
    for (const row of rows) {
      if (row.kind === "inserted") result.inserted.add(row.svix_id);
      else if (row.kind === "adopted")
        result.adopted.push({ svixId: row.svix_id, payload: row.payload, notificationId: row.notification_id });
      else result.applied.push({ svixId: row.svix_id, notificationId: row.notification_id });
    }
    return result;
  },

  async statusesOf(
    client: SqlClient,
    svixIds: string[],
  ): Promise<{ svixId: string; status: EventStatus; emailId: string | null }[]> {
    if (svixIds.length === 0) return [];
    const { rows } = await client.query<{ svix_id: string; status: EventStatus; email_id: string | null }>(
      `SELECT svix_id, status::text AS status, email_id FROM delivery_events WHERE svix_id = ANY($1::text[])`,
      [svixIds],
    );
    return rows.map((row) => ({ svixId: row.svix_id, status: row.status, emailId: row.email_id }));
  },

  /** Which events each of these notifications has applied: what their projections fold. */
  async appliedEventIdsOf(
    client: SqlClient | SqlPool,
    notificationIds: string[],
  ): Promise<{ svixId: string; notificationId: string }[]> {
    if (notificationIds.length === 0) return [];
    const { rows } = await client.query<{ svix_id: string; notification_id: string }>(
      `SELECT svix_id, notification_id::text AS notification_id FROM delivery_events
        WHERE notification_id = ANY($1::uuid[]) AND status = 'applied'`,
      [notificationIds],
    );
    return rows.map((row) => ({ svixId: row.svix_id, notificationId: row.notification_id }));
  },

  /**
   * The stored engagement counters of these notifications. Read them under the row lock the
   * transaction holds (lockNotifications): each event flips to applied once, under that lock, so
   * the stored counters plus this transaction's newly applied opens and clicks are exact.
   */
  async engagementCountersOf(client: SqlClient, notificationIds: string[]): Promise<Map<string, EngagementCounters>> {
    if (notificationIds.length === 0) return new Map();
    const { rows } = await client.query<EngagementCounters & { id: string }>(
      `SELECT id::text AS id, open_count AS "openCount", click_count AS "clickCount",
              first_opened_at AS "firstOpenedAt", first_clicked_at AS "firstClickedAt"
         FROM notifications WHERE id = ANY($1::uuid[])`,
      [notificationIds],
    );
    return new Map(rows.map(({ id, ...counters }) => [id, counters]));
  },

  async payloadsOf(client: SqlClient | SqlPool, svixIds: string[]): Promise<Map<string, unknown>> {
    if (svixIds.length === 0) return new Map();
    const { rows } = await client.query<{ svix_id: string; payload: unknown }>(
      "SELECT svix_id, payload FROM delivery_events WHERE svix_id = ANY($1::text[])",
      [svixIds],
    );
    return new Map(rows.map((row) => [row.svix_id, row.payload]));
  },

  /** Engagement rows, soft-bounce resets and new projections, in one statement. */
  async saveChanges(
    client: SqlClient,
    {
      engagement = [],
      projections = new Map(),
      resetSoftBounces = [],
    }: { engagement?: EngagementRow[]; projections?: Map<string, Projection>; resetSoftBounces?: SoftBounceReset[] },
  ): Promise<void> {
    if (engagement.length === 0 && projections.size === 0 && resetSoftBounces.length === 0) return;
    const entries = [...projections];
    const column = <K extends keyof Projection>(key: K) => entries.map(([, projection]) => projection[key]);
    await client.query(
      `WITH engagement AS (
         INSERT INTO engagement_events (svix_id, notification_id, kind, occurred_at, link, user_agent, ip_address)
         SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[]::"EngagementKind"[], $4::timestamptz[], $5::text[],
                              $6::text[], $7::text[])
         ON CONFLICT (svix_id) DO NOTHING
       ), reset AS (
         ${resetSoftBouncesSql("$17", "$18")}
       )
       UPDATE notifications AS n SET
          state = v.state::"DeliveryState", state_changed_at = v.state_changed_at, state_event_type = v.state_event_type,
          state_event_id = v.state_event_id, open_count = v.open_count, click_count = v.click_count,
          first_opened_at = v.first_opened_at, first_clicked_at = v.first_clicked_at, updated_at = now()
         FROM unnest($8::uuid[], $9::text[], $10::timestamptz[], $11::text[], $12::text[], $13::int[], $14::int[],
                     $15::timestamptz[], $16::timestamptz[])
              AS v(id, state, state_changed_at, state_event_type, state_event_id, open_count, click_count,
                   first_opened_at, first_clicked_at)
        WHERE n.id = v.id`,
      [
        engagement.map((r) => r.svixId),
        engagement.map((r) => r.notificationId),
        engagement.map((r) => r.kind),
        engagement.map((r) => r.occurredAt),
        engagement.map((r) => r.link),
        engagement.map((r) => r.userAgent),
        engagement.map((r) => r.ipAddress),
        entries.map(([id]) => id),
        column("state"),
        column("stateChangedAt"),
        column("stateEventType"),
        column("stateEventId"),
        column("openCount"),
        column("clickCount"),
        column("firstOpenedAt"),
        column("firstClickedAt"),
        resetSoftBounces.map((reset) => reset.email),
        resetSoftBounces.map((reset) => reset.at),
      ],
    );
  },

  /** One row per address: an address already suppressed keeps its first reason. */
  async addSuppression(
    client: SqlClient,
    row: { email: string; reason: SuppressionReason; sourceEventId: string; metadata: unknown },
  ): Promise<boolean> {
    const { rowCount } = await client.query(
      `INSERT INTO suppressions (email, reason, source_event_id, metadata)
       VALUES ($1, $2::"SuppressionReason", $3, $4::jsonb) ON CONFLICT (email) DO NOTHING`,
      [row.email, row.reason, row.sourceEventId, JSON.stringify(row.metadata)],
    );
    return rowCount === 1;
  },

  /**
   * Take the transaction's locks on these addresses (counters, suppressions) up front, in one
   * order for every transaction: two batches touching the same addresses then queue instead of
   * deadlocking, whatever order their statements reach the rows in. Every batch first holds a
   * gate: shared, then one lock per address; a batch with more than MAX_ADDRESS_LOCKS addresses
   * takes the gate alone, exclusively, so no transaction holds more locks than PostgreSQL's
   * shared lock table can spare.
   */
  async lockAddresses(client: SqlClient, emails: string[]): Promise<void> {
    const distinct = [...new Set(emails)];
    if (distinct.length === 0) return;
    if (distinct.length > MAX_ADDRESS_LOCKS) {
      await client.query(`SELECT pg_advisory_xact_lock(${ADDRESS_GATE_SPACE}, 0)`);
      return;
    }
    await client.query(
      `SELECT CASE WHEN k.gate THEN pg_advisory_xact_lock_shared(${ADDRESS_GATE_SPACE}, 0)
                   ELSE pg_advisory_xact_lock(${ADDRESS_LOCK_SPACE}, k.h) END
         FROM (SELECT true AS gate, 0 AS h
               UNION ALL SELECT DISTINCT false, hashtext(e) FROM unnest($1::text[]) AS e
               ORDER BY gate DESC, h) AS k`,
      [distinct],
    );
  },

  /**
   * One more transient bounce in the address's run; answers the run's length, or 0 when the bounce
   * is older than the address's newest delivery (event time) and so not in the run.
   */
  async countSoftBounce(client: SqlClient, email: string, eventId: string, at: Date): Promise<number> {
    const { rows } = await client.query<{ count: number; counted: boolean }>(
      `INSERT INTO soft_bounce_counters (email, count, last_event_id, last_bounce_at, updated_at)
       VALUES ($1, 1, $2, $3, now())
       ON CONFLICT (email) DO UPDATE SET
         count = CASE WHEN $3 <= soft_bounce_counters.last_delivered_at THEN soft_bounce_counters.count
                      ELSE soft_bounce_counters.count + 1 END,
         last_event_id = CASE WHEN $3 > soft_bounce_counters.last_delivered_at IS NOT FALSE
                               AND $3 >= soft_bounce_counters.last_bounce_at IS NOT FALSE
                              THEN $2 ELSE soft_bounce_counters.last_event_id END,
         last_bounce_at = CASE WHEN $3 <= soft_bounce_counters.last_delivered_at THEN soft_bounce_counters.last_bounce_at
                               ELSE GREATEST(soft_bounce_counters.last_bounce_at, $3) END,
         updated_at = now()
       RETURNING count, (last_delivered_at IS NULL OR $3 > last_delivered_at) AS counted`,
      [email, eventId, at],
    );
    const row = rows[0];
    return row?.counted ? row.count : 0;
  },

  /** Deliveries to these addresses (event time): see resetSoftBouncesSql. */
  async resetSoftBounces(client: SqlClient, resets: SoftBounceReset[]): Promise<void> {
    if (resets.length === 0) return;
    await client.query(resetSoftBouncesSql("$1", "$2"), [
      resets.map((reset) => reset.email),
      resets.map((reset) => reset.at),
    ]);
  },

  async notificationsCarrying(pool: SqlPool, emailIds: string[]): Promise<string[]> {
    if (emailIds.length === 0) return [];
    const { rows } = await pool.query<{ email_id: string }>(
      "SELECT resend_email_id AS email_id FROM notifications WHERE resend_email_id = ANY($1::text[])",
      [emailIds],
    );
    return rows.map((row) => row.email_id);
  },
};
