// delivery_events, the append-only event log: one row per svix-id, the source of truth for every
// state. The worker writes it (SQL, in batches); the API, the support pages and the CLI read it.
import type { EventStatus } from "../../generated/client/index.js";
import type { DbClient } from "../client.ts";
import { jsonForPostgres, type SqlClient, type SqlPool, type SqlRunner } from "../sql.ts";

/** The event types of the engagement log: they never move delivery state. */
export const ENGAGEMENT_TYPES = ["email.opened", "email.clicked"] as const;

/** Word for word the predicate of the partial index delivery_events_applied_delivery_idx, so the planner uses it. */
const NOT_ENGAGEMENT = "type NOT IN ('email.opened', 'email.clicked')";

/**
 * Where the payloads carry personal data (Resend puts it under data.click; data.open is scrubbed
 * too, should it ever carry it). Word for word the predicate of delivery_events_pii_idx.
 */
const PAYLOAD_HAS_PII =
  "(payload #> '{data,click}' ?| ARRAY['ipAddress', 'userAgent'] OR payload #> '{data,open}' ?| ARRAY['ipAddress', 'userAgent'])";

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

/** A logged event's raw payload, applied to a notification. */
export interface StoredEvent {
  svixId: string;
  payload: unknown;
  notificationId: string;
}

/** An event applied to a notification, by id. */
export interface AppliedRef {
  svixId: string;
  notificationId: string;
}

export const events = {
  /**
   * One round trip for the heart of a batch: append the events (a logged svix-id is left as it
   * is), flip the parked events of these email ids to applied on their notification, and list the
   * delivery events these notifications had applied before this statement. All three read one
   * snapshot, so the lists never overlap. `applied` leaves out opens and clicks: they never move
   * the state, and a notification may have thousands (its counters are added up incrementally,
   * see notifications.lockMatches); the partial index delivery_events_applied_delivery_idx
   * serves it.
   */
  async appendAndAdopt(
    client: SqlClient,
    rows: EventRow[],
    matched: { emailIds: string[]; notificationIds: string[] },
  ): Promise<{ inserted: Set<string>; adopted: StoredEvent[]; applied: AppliedRef[] }> {
    const result = await client.query<{ kind: string; svix_id: string; payload: unknown; notification_id: string }>(
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
        // One JSON document of records: pg would escape every payload into an array literal.
        jsonForPostgres(
          rows.map((row) => ({
            svix_id: row.svixId,
            type: row.type,
            occurred_at: row.occurredAt,
            received_at: row.receivedAt,
            email_id: row.emailId,
            payload: row.payload,
            notification_id: row.notificationId,
            status: row.status,
          })),
        ),
        matched.emailIds,
        matched.notificationIds,
      ],
    );
    const answer = { inserted: new Set<string>(), adopted: [] as StoredEvent[], applied: [] as AppliedRef[] };
    for (const row of result.rows) {
      if (row.kind === "inserted") answer.inserted.add(row.svix_id);
      else if (row.kind === "adopted")
        answer.adopted.push({ svixId: row.svix_id, payload: row.payload, notificationId: row.notification_id });
      else answer.applied.push({ svixId: row.svix_id, notificationId: row.notification_id });
    }
    return answer;
  },

  /** Take these events, logged as invalid, out of the log so that they are reconciled again. */
  async removeInvalid(client: SqlClient, svixIds: string[]): Promise<void> {
    if (svixIds.length === 0) return;
    await client.query("DELETE FROM delivery_events WHERE svix_id = ANY($1::text[]) AND status = 'invalid'", [svixIds]);
  },

  /** Whether any event of this email id still waits, unmatched, for a notification to carry it. */
  async hasUnmatched(pool: SqlPool, emailId: string): Promise<boolean> {
    return (await events.withUnmatched(pool, [emailId])).length > 0;
  },

  /** Which of these email ids have events waiting, unmatched, for a notification to carry them (by delivery_events_email_id_idx). */
  async withUnmatched(pool: SqlPool, emailIds: string[]): Promise<string[]> {
    if (emailIds.length === 0) return [];
    const { rows } = await pool.query<{ email_id: string }>({
      name: "delivery-events-with-unmatched",
      text: "SELECT DISTINCT email_id FROM delivery_events WHERE email_id = ANY($1::text[]) AND status = 'unmatched'",
      values: [emailIds],
    });
    return rows.map((row) => row.email_id);
  },

  async statusesOf(
    client: SqlClient,
    svixIds: string[],
  ): Promise<{ svixId: string; status: EventStatus; emailId: string | null }[]> {
    if (svixIds.length === 0) return [];
    const { rows } = await client.query<{ svix_id: string; status: EventStatus; email_id: string | null }>(
      "SELECT svix_id, status::text AS status, email_id FROM delivery_events WHERE svix_id = ANY($1::text[])",
      [svixIds],
    );
    return rows.map((row) => ({ svixId: row.svix_id, status: row.status, emailId: row.email_id }));
  },

  /** Which events each of these notifications has applied: what their projections fold. */
  async appliedEventIdsOf(client: SqlClient | SqlPool, notificationIds: string[]): Promise<AppliedRef[]> {
    if (notificationIds.length === 0) return [];
    const { rows } = await client.query<{ svix_id: string; notification_id: string }>(
      `SELECT svix_id, notification_id::text AS notification_id FROM delivery_events
        WHERE notification_id = ANY($1::uuid[]) AND status = 'applied'`,
      [notificationIds],
    );
    return rows.map((row) => ({ svixId: row.svix_id, notificationId: row.notification_id }));
  },

  async payloadsOf(client: SqlClient | SqlPool, svixIds: string[]): Promise<Map<string, unknown>> {
    if (svixIds.length === 0) return new Map();
    const { rows } = await client.query<{ svix_id: string; payload: unknown }>(
      "SELECT svix_id, payload FROM delivery_events WHERE svix_id = ANY($1::text[])",
      [svixIds],
    );
    return new Map(rows.map((row) => [row.svix_id, row.payload]));
  },

  /**
   * Drop IP addresses and user agents from the raw payloads of events older than `before`, at most
   * `chunkSize` rows per statement (skipping rows another transaction holds); answers the rows changed.
   */
  async scrubPii(pool: SqlPool, { before, chunkSize }: { before: Date; chunkSize: number }): Promise<number> {
    let changed = 0;
    for (;;) {
      const { rowCount } = await pool.query(
        `UPDATE delivery_events
            SET payload = payload #- '{data,click,ipAddress}' #- '{data,click,userAgent}'
                                  #- '{data,open,ipAddress}' #- '{data,open,userAgent}'
          WHERE id IN (SELECT id FROM delivery_events WHERE occurred_at < $1 AND ${PAYLOAD_HAS_PII}
                        ORDER BY occurred_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
        [before, chunkSize],
      );
      changed += rowCount ?? 0;
      if ((rowCount ?? 0) < chunkSize) return changed;
    }
  },

  // Reads for the API, the support pages and the CLI (Prisma).

  findBySvixId(db: DbClient, svixId: string) {
    return db.deliveryEvent.findUnique({ where: { svixId } });
  },

  /** Every logged event of one notification. */
  listForNotification(db: DbClient, notificationId: string) {
    return db.deliveryEvent.findMany({
      where: { notificationId },
      orderBy: [{ occurredAt: "asc" }, { svixId: "asc" }],
    });
  },

  /**
   * The events about one notification that its schema rejected (logged as invalid): those attached
   * to it, and those of its Resend email id that arrived before it was recorded.
   */
  listInvalidFor(db: DbClient, { notificationId, emailId }: { notificationId: string; emailId: string | null }) {
    return db.deliveryEvent.findMany({
      where: {
        status: "invalid",
        OR: [{ notificationId }, ...(emailId ? [{ emailId }] : [])],
      },
      select: { svixId: true, type: true, occurredAt: true, receivedAt: true, payload: true },
      orderBy: [{ occurredAt: "asc" }, { svixId: "asc" }],
      take: 100,
    });
  },

  /**
   * The applied events of a notification that can move its state (everything but opens and
   * clicks), in log order: few, however many opens it has (the partial index
   * delivery_events_applied_delivery_idx holds exactly these rows).
   */
  listDeliveryForNotification(db: DbClient, notificationId: string) {
    return db.deliveryEvent.findMany({
      where: { notificationId, status: "applied", type: { notIn: [...ENGAGEMENT_TYPES] } },
      orderBy: [{ occurredAt: "asc" }, { svixId: "asc" }],
    });
  },

  /**
   * One page of a notification's applied opens and clicks, in (occurredAt, svixId) order, after
   * `after` (the last of the previous page). Answers up to `limit` rows.
   */
  listEngagementPage(
    db: DbClient,
    notificationId: string,
    { after, limit }: { after?: { occurredAt: Date; svixId: string }; limit: number },
  ) {
    return db.deliveryEvent.findMany({
      where: {
        notificationId,
        status: "applied",
        type: { in: [...ENGAGEMENT_TYPES] },
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

  listUnmatched(db: DbClient, { emailId, limit }: { emailId?: string; limit: number }) {
    return db.deliveryEvent.findMany({
      where: { status: "unmatched", ...(emailId ? { emailId } : {}) },
      select: { svixId: true, emailId: true, type: true, receivedAt: true },
      orderBy: { receivedAt: "asc" },
      take: limit,
    });
  },

  /** A page of the events logged with this status, in log order after `afterId`. */
  listByStatus(db: DbClient, status: EventStatus, { afterId, limit }: { afterId?: bigint; limit: number }) {
    return db.deliveryEvent.findMany({
      where: { status, ...(afterId === undefined ? {} : { id: { gt: afterId } }) },
      select: { id: true, svixId: true, type: true, payload: true, receivedAt: true },
      orderBy: { id: "asc" },
      take: limit,
    });
  },

  countByStatus(db: DbClient, status: EventStatus) {
    return db.deliveryEvent.count({ where: { status } });
  },

  /** Parked (unmatched) events: how many, and seconds since the oldest arrived (0 when none). */
  async parkedBacklog(sql: SqlRunner): Promise<{ count: number; oldestAgeSeconds: number }> {
    const { rows } = await sql.query<{ count: number; age: number }>(
      `SELECT count(*)::int AS count, COALESCE(EXTRACT(EPOCH FROM now() - min(received_at)), 0)::float8 AS age
         FROM delivery_events WHERE status = 'unmatched'`,
    );
    return { count: rows[0]?.count ?? 0, oldestAgeSeconds: rows[0]?.age ?? 0 };
  },
};
