// delivery_events, the append-only event log: one row per svix-id, the source of truth for every
// state; the opens and clicks applied to a notification are in engagement_events instead. Partitioned
// by day of occurred_at: a redelivery has the same svix-id and created_at, so it meets its first copy's
// primary key. The worker writes it (SQL, in batches); the API, the support pages and the CLI read it.
import type { EventStatus } from "../../generated/client/index.js";
import type { DbClient } from "../client.ts";
import { jsonForPostgres, type SqlClient, type SqlPool, type SqlRunner } from "../sql.ts";

/** Opens and clicks: applied to a notification, they are written to engagement_events, not here. */
const isEngagement = (type: string) => `${type} IN ('email.opened', 'email.clicked')`;

/**
 * An applied event's payload as stored: without what its own columns hold (type, data.email_id), what
 * its notification holds (data.from, data.to, data.subject, data.tags, data.message_id: see
 * notificationProjections.projectionUpdate) and data.created_at (when the email was created, which no reader
 * uses). Four fifths of a delivery event's payload; restorePayload puts them back for reading. The
 * fold needs none of them: it reads the type, the event's own created_at and what Resend said
 * (bounce, failed, suppressed).
 */
const compacted = (payload: string) => {
  const stripped = `((${payload} - 'type') #- '{data,email_id}' #- '{data,from}' #- '{data,to}' #- '{data,subject}'
    #- '{data,tags}' #- '{data,message_id}' #- '{data,created_at}')`;
  // An event that said nothing more (sent, delivered) keeps no empty data object either.
  return `(${stripped} - CASE WHEN ${stripped} -> 'data' = '{}'::jsonb THEN 'data' ELSE '' END)`;
};

/** An open or click's engagement_events columns (after svix_id, notification_id), read from its payload. */
const engagementColumns = (row: string) => `CAST(substr(${row}.type, 7) AS "EngagementKind"), ${row}.occurred_at,
  ${row}.payload #>> '{data,click,link}',
  COALESCE(${row}.payload #>> '{data,click,userAgent}', ${row}.payload #>> '{data,open,userAgent}'),
  COALESCE(${row}.payload #>> '{data,click,ipAddress}', ${row}.payload #>> '{data,open,ipAddress}')`;

/** What the notification of an applied event holds of its payload: restorePayload's second argument. */
export interface PayloadContext {
  emailId: string;
  from: string;
  recipients: string[];
  subject: string;
  messageId: string | null;
}

/**
 * A logged payload as Resend sent it, as far as it can be: an applied event's stored payload (see
 * `compacted`) with its type put back from the row, its email id, from, to, subject and message id from
 * its notification (empty when not given: the fold does not read them), and the event's own time for
 * data.created_at. A whole payload is answered as is.
 */
export function restorePayload(
  row: { type: string; emailId: string | null; payload: unknown },
  about?: PayloadContext,
): unknown {
  const payload = row.payload;
  if (typeof payload !== "object" || payload === null || Array.isArray(payload) || "type" in payload) return payload;
  const stored = payload as Record<string, unknown>;
  const data = typeof stored.data === "object" && stored.data !== null ? (stored.data as Record<string, unknown>) : {};
  return {
    type: row.type,
    ...stored,
    data: {
      email_id: row.emailId ?? about?.emailId ?? "",
      created_at: stored.created_at,
      from: about?.from ?? "",
      to: about?.recipients ?? [],
      subject: about?.subject ?? "",
      ...(about?.messageId ? { message_id: about.messageId } : {}),
      ...data,
    },
  };
}

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
  /**
   * Whether occurredAt is the event's own created_at, the same on every redelivery. When it is not
   * (none could be read), it is the time of receipt, which differs: such a row is deduplicated by
   * looking for its svix-id in every partition.
   */
  ownTime: boolean;
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
   * The traceparent noted on a logged event (`mailstate.traceparent`, with tracing on), for the
   * work it causes later to join its trace; null when none. One index probe per partition.
   */
  async traceparentOf(sql: SqlRunner, svixId: string): Promise<string | null> {
    const { rows } = await sql.query<{ traceparent: string | null }>(
      "SELECT payload #>> '{mailstate,traceparent}' AS traceparent FROM delivery_events WHERE svix_id = $1 LIMIT 1",
      [svixId],
    );
    return rows[0]?.traceparent ?? null;
  },

  /**
   * One round trip for the heart of a batch: append the events (a logged svix-id is left as it
   * is), apply the parked events of these email ids to their notification, and list the delivery
   * events these notifications had applied before this statement. All of it reads one snapshot, so
   * the lists never overlap.
   * - An applied open or click goes to engagement_events (its row's link, user agent and IP address
   *   read from the payload), every other event here, applied ones compacted (see `compacted`).
   *   `inserted` lists those logged for the first time, in either table.
   * - A parked open or click moves from here to engagement_events; a parked delivery event flips to
   *   applied here. `adopted` lists them with their whole payload (the tenant's suppression policy
   *   reads their recipients).
   * - `applied` is every applied row here: opens and clicks are not here, so however many a
   *   notification has, its fold reads only its delivery events (its engagement counters are added
   *   up incrementally, see notificationMatching.lockMatches). It reads the partitions from the
   *   notification's first_event_at on, which the projection update of the events applied keeps
   *   in the same transaction (notificationProjections.projectionUpdate): one with none has no applied event.
   */
  async appendAndAdopt(
    client: SqlClient,
    rows: EventRow[],
    matched: { emailIds: string[]; notificationIds: string[] },
  ): Promise<{ inserted: Set<string>; adopted: StoredEvent[]; applied: AppliedRef[] }> {
    const result = await client.query<{ kind: string; svix_id: string; payload: unknown; notification_id: string }>({
      // Prepared: planned once per connection (see createSqlPool), not for every batch.
      name: "delivery-events-append-and-adopt",
      text: `WITH input AS MATERIALIZED (
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(svix_id text, type text, occurred_at timestamptz,
                                                          received_at timestamptz, email_id text, payload jsonb,
                                                          notification_id uuid, status "EventStatus",
                                                          own_time boolean)
       ), logged AS (
         INSERT INTO delivery_events (svix_id, type, occurred_at, received_at, email_id, payload, notification_id, status)
         SELECT svix_id, type, occurred_at, received_at,
                -- Applied, its notification holds the email id (and what else compacted leaves out).
                CASE WHEN status = 'applied' THEN NULL ELSE email_id END,
                CASE WHEN status = 'applied' THEN ${compacted("payload")} ELSE payload END, notification_id, status
           FROM input AS i WHERE NOT (status = 'applied' AND ${isEngagement("type")})
            AND (own_time OR NOT EXISTS (SELECT 1 FROM delivery_events AS d WHERE d.svix_id = i.svix_id))
         ON CONFLICT (svix_id, occurred_at) DO NOTHING
         RETURNING svix_id
       ), engaged AS (
         INSERT INTO engagement_events (svix_id, notification_id, kind, occurred_at, link, user_agent, ip_address)
         SELECT i.svix_id, i.notification_id, ${engagementColumns("i")}
           FROM input AS i
          WHERE i.status = 'applied' AND ${isEngagement("i.type")}
            -- Parked before its notification came: the adoption below moves it (once).
            AND NOT EXISTS (SELECT 1 FROM delivery_events AS d WHERE d.svix_id = i.svix_id AND d.occurred_at = i.occurred_at)
         ON CONFLICT (notification_id, occurred_at, svix_id) DO NOTHING
         RETURNING svix_id
       ), parked AS (
         SELECT e.svix_id, e.occurred_at, e.type, e.payload, n.id AS notification_id
           FROM delivery_events AS e JOIN notifications AS n ON e.email_id = n.resend_email_id
          WHERE n.resend_email_id = ANY($2::text[]) AND e.status = 'unmatched'
       ), adopted AS (
         UPDATE delivery_events AS e
            SET status = 'applied', notification_id = p.notification_id, adopted_at = now(), email_id = NULL,
                payload = ${compacted("p.payload")}
           FROM parked AS p
          WHERE e.svix_id = p.svix_id AND e.occurred_at = p.occurred_at AND e.status = 'unmatched'
            AND NOT ${isEngagement("p.type")}
         RETURNING p.svix_id, p.payload, p.notification_id
       ), unparked AS (
         DELETE FROM delivery_events AS e USING parked AS p
          WHERE e.svix_id = p.svix_id AND e.occurred_at = p.occurred_at AND e.status = 'unmatched'
            AND ${isEngagement("p.type")}
         RETURNING p.svix_id, p.occurred_at, p.type, p.payload, p.notification_id
       ), unparked_engaged AS (
         INSERT INTO engagement_events (svix_id, notification_id, kind, occurred_at, link, user_agent, ip_address)
         SELECT u.svix_id, u.notification_id, ${engagementColumns("u")} FROM unparked AS u
         ON CONFLICT (notification_id, occurred_at, svix_id) DO NOTHING
       ), applied AS (
         SELECT e.svix_id, e.notification_id
           FROM notifications AS n
           JOIN delivery_events AS e ON e.notification_id = n.id AND e.occurred_at >= n.first_event_at
          WHERE n.id = ANY($3::uuid[]) AND e.status = 'applied'
       )
       SELECT 'inserted' AS kind, svix_id, NULL::jsonb AS payload, NULL AS notification_id FROM logged
       UNION ALL SELECT 'inserted', svix_id, NULL, NULL FROM engaged
       UNION ALL SELECT 'adopted', svix_id, payload, notification_id::text FROM adopted
       UNION ALL SELECT 'adopted', svix_id, payload, notification_id::text FROM unparked
       UNION ALL SELECT 'applied', svix_id, NULL, notification_id::text FROM applied`,
      values: [
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
            own_time: row.ownTime,
          })),
        ),
        matched.emailIds,
        matched.notificationIds,
      ],
    });
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

  /** The payloads of these events, restored (restorePayload) with their notification's email id. */
  async payloadsOf(client: SqlClient | SqlPool, svixIds: string[]): Promise<Map<string, unknown>> {
    if (svixIds.length === 0) return new Map();
    const { rows } = await client.query<{ svix_id: string; type: string; email_id: string | null; payload: unknown }>(
      `SELECT e.svix_id, e.type, COALESCE(e.email_id, n.resend_email_id, n.id::text) AS email_id, e.payload
         FROM delivery_events AS e LEFT JOIN notifications AS n ON n.id = e.notification_id
        WHERE e.svix_id = ANY($1::text[])`,
      [svixIds],
    );
    return new Map(
      rows.map((row) => [row.svix_id, restorePayload({ type: row.type, emailId: row.email_id, payload: row.payload })]),
    );
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
          WHERE (svix_id, occurred_at) IN (SELECT svix_id, occurred_at FROM delivery_events
                                            WHERE occurred_at < $1 AND ${PAYLOAD_HAS_PII}
                                            ORDER BY occurred_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
        [before, chunkSize],
      );
      changed += rowCount ?? 0;
      if ((rowCount ?? 0) < chunkSize) return changed;
    }
  },

  // Reads for the API, the support pages and the CLI (Prisma).

  findBySvixId(db: DbClient, svixId: string) {
    return db.deliveryEvent.findFirst({ where: { svixId } });
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
   * The applied events of a notification, in log order: its delivery events (opens and clicks are in
   * engagement_events), read from its first_event_at on (none before it; none at all when null).
   */
  async listDeliveryForNotification(db: DbClient, { id, firstEventAt }: { id: string; firstEventAt: Date | null }) {
    if (firstEventAt === null) return [];
    return db.deliveryEvent.findMany({
      where: { notificationId: id, status: "applied", occurredAt: { gte: firstEventAt } },
      orderBy: [{ occurredAt: "asc" }, { svixId: "asc" }],
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

  /** A page of the events logged with this status, in svix-id order after `afterSvixId`. */
  listByStatus(db: DbClient, status: EventStatus, { afterSvixId, limit }: { afterSvixId?: string; limit: number }) {
    return db.deliveryEvent.findMany({
      where: { status, ...(afterSvixId === undefined ? {} : { svixId: { gt: afterSvixId } }) },
      select: { svixId: true, type: true, payload: true, receivedAt: true },
      orderBy: { svixId: "asc" },
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
