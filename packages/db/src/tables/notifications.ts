// notifications: what the application recorded (the API writes it, in SQL on its pg pool) and the
// projection of its event log (the worker writes it, in SQL). Resend's email id is set once, by
// whichever comes first: the SDK's attach (API) or a tagged event (worker), under the same guard.
import { randomUUID } from "node:crypto";
import type { DeliveryState, Notification, Prisma } from "../../generated/client/index.js";
import type { DbClient } from "../client.ts";
import {
  type BatchWrite,
  jsonForPostgres,
  type SqlClient,
  type SqlPool,
  type SqlRunner,
  writeTogether,
} from "../sql.ts";

export interface NewNotification {
  resendEmailId?: string | null;
  recipients: string[];
  from: string;
  subject: string;
  tenant?: string | null;
  tags?: Record<string, string>;
  category?: string | null;
  metadata?: Prisma.InputJsonValue | null;
  idempotencyKey?: string | null;
  suppressionBypassed?: boolean;
}

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

export interface NotificationFilter {
  email?: string;
  resendEmailId?: string;
  /** A Message-ID header, with or without its angle brackets: matched as messageIdKey reads it. */
  messageId?: string;
  state?: DeliveryState;
  tenant?: string;
  /** id of the last row of the previous page */
  cursor?: string;
  limit: number;
}

/** Resend refused the send: its error, as Resend gave it. */
export interface SendError {
  name: string;
  message: string;
  statusCode?: number | null;
}
export type SendRefusal = { id: string; sendError: SendError };
/** A refusal as stored on the notification: Resend's error and when it was reported. */
export type StoredSendError = Required<SendError> & { at: string };

/** The outcome of one send: Resend's email id, or its refusal. */
export type SendOutcome = { id: string; resendEmailId: string } | SendRefusal;

/**
 * What became of one reported send outcome: it is on the notification (`applied`, also when the
 * same id was attached already), no notification has the id, or it contradicts what is stored
 * (another Resend id, or an id another notification carries).
 */
export type SendOutcomeResult =
  | { kind: "applied"; notification: Notification }
  | { kind: "not_found" }
  | { kind: "conflict" };

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

const NOT_FOUND = { kind: "not_found" } as const;
const CONFLICT = { kind: "conflict" } as const;
const applied = (notification: Notification) => ({ kind: "applied", notification }) as const;

/** The `sendError` column read back (null when the send was not refused). */
export function storedSendError(row: Pick<Notification, "sendError">): StoredSendError | null {
  const value = row.sendError;
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const text = (key: string) => (typeof value[key] === "string" ? (value[key] as string) : "");
  return {
    name: text("name"),
    message: text("message"),
    statusCode: typeof value.statusCode === "number" ? value.statusCode : null,
    at: text("at"),
  };
}

/** PostgreSQL's unique_violation: another notification carries the Resend id. */
const UNIQUE_VIOLATION = "23505";
/** deadlock_detected: two batches inserting overlapping ids in different orders; each statement is safe to run again. */
const DEADLOCK_DETECTED = "40P01";
const sqlState = (error: unknown) => (error as { code?: unknown } | null)?.code;

/** Every column of a notification, named as the Notification type (Prisma's) names it. */
const NOTIFICATION_COLUMNS = `id, resend_email_id AS "resendEmailId", recipients, "from", subject, tenant, tags, category,
  metadata, idempotency_key AS "idempotencyKey", suppression_bypassed AS "suppressionBypassed", send_error AS "sendError",
  state::text AS state, state_changed_at AS "stateChangedAt", state_event_type AS "stateEventType",
  state_event_id AS "stateEventId", open_count AS "openCount", click_count AS "clickCount",
  first_opened_at AS "firstOpenedAt", first_clicked_at AS "firstClickedAt", created_at AS "createdAt",
  updated_at AS "updatedAt"`;

const PROJECTION_COLUMNS = `state::text AS "state", state_changed_at AS "stateChangedAt",
  state_event_type AS "stateEventType", state_event_id AS "stateEventId", open_count AS "openCount",
  click_count AS "clickCount", first_opened_at AS "firstOpenedAt", first_clicked_at AS "firstClickedAt"`;

/**
 * How a Message-ID is matched: without the spaces and angle brackets around it, so `<id@host>` as a
 * forwarded email's headers carry it and `id@host` as someone copies it find the same email.
 * notifications.message_id keeps it as Resend's events carry it (`<…@email.amazonses.com>`), since
 * restorePayload gives it back as the events' data.message_id; MESSAGE_ID_KEY reads it the same way.
 */
export function messageIdKey(messageId: string): string {
  return messageId.replace(/^[ <>]+|[ <>]+$/g, "");
}

/**
 * messageIdKey in SQL, word for word the expression of notifications_message_id_key_idx
 * (migration 20261207150000_message_id_index): a query must spell it so to use the index.
 */
const MESSAGE_ID_KEY = `btrim(message_id, ' <>')`;

/** What recording one send answered: its notification, whether this record created it, and whether it attached its Resend id. */
export interface RecordResult {
  notification: Notification;
  created: boolean;
  attached: boolean;
}

/**
 * An idempotency key as it is unique: per tenant (a tenant of none is one more). Null without a key.
 * Spelled so that no two (tenant, key) pairs collide.
 */
function tenantKey(row: { tenant?: string | null; idempotencyKey?: string | null }): string | null {
  return row.idempotencyKey ? JSON.stringify([row.tenant ?? null, row.idempotencyKey]) : null;
}

/**
 * Split sends into those that share no idempotency key and no Resend id with an earlier one (they
 * can be written together in any order) and the rest, which must see what the earlier ones did:
 * a second record of a key is a repeat of the first, and a Resend id the first attaches to an
 * existing notification is no longer free for a later one.
 */
function splitByOverlap(inputs: NewNotification[]): { independent: number[]; dependent: number[] } {
  const keys = new Set<string>();
  const emailIds = new Set<string>();
  const independent: number[] = [];
  const dependent: number[] = [];
  inputs.forEach((input, index) => {
    const key = tenantKey(input);
    const emailId = input.resendEmailId ?? null;
    const overlaps = (key !== null && keys.has(key)) || (emailId !== null && emailIds.has(emailId));
    (overlaps ? dependent : independent).push(index);
    if (key !== null) keys.add(key);
    if (emailId !== null) emailIds.add(emailId);
  });
  return { independent, dependent };
}

/**
 * Insert sends that overlap nowhere among themselves, in one statement: a row whose idempotency key
 * or Resend id is taken already is left out (ON CONFLICT DO NOTHING, which also waits out a
 * concurrent record of the same key and then leaves it to the winner). Answers the rows inserted,
 * by id. Rows go in key order so that two batches of overlapping keys lock them in one order; each
 * is stamped a microsecond after the one before it in the order given, so newest first lists a
 * batch as recording it one by one did.
 *
 * The API's statements are named: pg prepares each once per connection, and PostgreSQL parses and
 * plans it once, not per request (a third of PostgreSQL's CPU per single record, by bench:record).
 * A pooler in front of PostgreSQL must keep prepared statements (PgBouncer 1.21+ does).
 */
async function insertNew(sql: SqlRunner, inputs: NewNotification[], ids: string[]): Promise<Map<string, Notification>> {
  const records = jsonForPostgres(
    inputs.map((input, index) => ({
      i: index,
      id: ids[index],
      resend_email_id: input.resendEmailId ?? null,
      recipients: input.recipients,
      from: input.from,
      subject: input.subject,
      tenant: input.tenant ?? null,
      tags: input.tags ?? {},
      category: input.category ?? null,
      metadata: input.metadata ?? null,
      idempotency_key: input.idempotencyKey ?? null,
      suppression_bypassed: input.suppressionBypassed ?? false,
    })),
  );
  const statement = `INSERT INTO notifications (id, resend_email_id, recipients, "from", subject, tenant, tags, category,
                                 metadata, idempotency_key, suppression_bypassed, created_at, updated_at)
    SELECT id, resend_email_id, recipients, "from", subject, tenant, tags, category, metadata, idempotency_key,
           suppression_bypassed, now() + i * interval '1 microsecond', now() + i * interval '1 microsecond'
      FROM jsonb_to_recordset($1::jsonb) AS x(i int, id uuid, resend_email_id text, recipients text[], "from" text,
                                             subject text, tenant text, tags jsonb, category text, metadata jsonb,
                                             idempotency_key text, suppression_bypassed boolean)
     ORDER BY idempotency_key, resend_email_id
    ON CONFLICT DO NOTHING
    RETURNING ${NOTIFICATION_COLUMNS}`;
  for (let attempt = 1; ; attempt += 1) {
    try {
      const { rows } = await sql.query<Notification>({
        name: "notifications-insert-new",
        text: statement,
        values: [records],
      });
      return new Map(rows.map((row) => [row.id, row]));
    } catch (error) {
      if (sqlState(error) !== DEADLOCK_DETECTED || attempt >= 3) throw error;
    }
  }
}

/**
 * Record sends that overlap nowhere among themselves: one insert; when some were recorded already,
 * one read of those rows (by idempotency key, else by Resend id, as a lone record looks them up),
 * and the attach of the Resend ids that repeats bring to rows without one.
 */
async function recordIndependent(sql: SqlRunner, inputs: NewNotification[]): Promise<RecordResult[]> {
  const ids = inputs.map(() => randomUUID());
  const inserted = await insertNew(sql, inputs, ids);
  const results: RecordResult[] = [];
  const repeats: number[] = [];
  inputs.forEach((_input, index) => {
    const row = inserted.get(ids[index] as string);
    if (row) results[index] = { notification: row, created: true, attached: false };
    else repeats.push(index);
  });
  if (repeats.length === 0) return results;

  const existing = await notifications.findExisting(
    sql,
    repeats.map((index) => inputs[index] as NewNotification),
  );
  const toAttach: { index: number; outcome: SendOutcome }[] = [];
  for (const index of repeats) {
    const input = inputs[index] as NewNotification;
    const key = tenantKey(input);
    const row =
      (key ? existing.byKey.get(key) : undefined) ??
      (input.resendEmailId ? existing.byEmailId.get(input.resendEmailId) : undefined);
    // Left out of the insert, yet neither its key nor its id is found: its conflict was on a row gone since.
    if (!row)
      throw new Error(`notification ${input.idempotencyKey ?? input.resendEmailId} was neither inserted nor found`);
    results[index] = { notification: row, created: false, attached: false };
    // A repeat that brings the Resend id the first record lacked attaches it, as the PATCH after a send would.
    if (row.resendEmailId === null && input.resendEmailId) {
      toAttach.push({ index, outcome: { id: row.id, resendEmailId: input.resendEmailId } });
    }
  }
  if (toAttach.length > 0) {
    const outcomes = await notifications.applySendOutcomes(
      sql,
      toAttach.map(({ outcome }) => outcome),
    );
    toAttach.forEach(({ index }, n) => {
      const outcome = outcomes[n];
      // Not applied: the id is another notification's, and the repeat answers the first record as it is.
      if (outcome?.kind === "applied")
        results[index] = { notification: outcome.notification, created: false, attached: true };
    });
  }
  return results;
}

async function findOne(sql: SqlRunner, id: string): Promise<Notification | undefined> {
  const { rows } = await sql.query<Notification>(
    `SELECT ${NOTIFICATION_COLUMNS} FROM notifications WHERE id = $1::uuid`,
    [id],
  );
  return rows[0];
}

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

export const notifications = {
  // What the application records and reports (the API, in SQL on its pg pool).

  /**
   * Insert, or return the existing row when the idempotency key or the Resend email id is already
   * recorded. `created` says which. A repeat of a key that now brings the Resend id the first
   * record lacked attaches it (`attached`), as the PATCH after a send would.
   */
  async record(sql: SqlRunner, input: NewNotification): Promise<RecordResult> {
    const [result] = await notifications.recordMany(sql, [input]);
    return result as RecordResult;
  },

  /**
   * Record sends as `record` does each, one result per input in order, as if one after the other:
   * those that overlap nowhere in one insert (and one read when some were recorded already), then
   * each send that shares a key or a Resend id with an earlier one, on its own once those are in.
   */
  async recordMany(sql: SqlRunner, inputs: NewNotification[]): Promise<RecordResult[]> {
    const { independent, dependent } = splitByOverlap(inputs);
    const results: RecordResult[] = [];
    const first = await recordIndependent(
      sql,
      independent.map((index) => inputs[index] as NewNotification),
    );
    independent.forEach((index, n) => {
      results[index] = first[n] as RecordResult;
    });
    for (const index of dependent) {
      [results[index]] = (await recordIndependent(sql, [inputs[index] as NewNotification])) as [RecordResult];
    }
    return results;
  },

  /**
   * What came of each send, one result per item in order. Resend's id is set once: the same pair
   * again is the notification as it is; another id, or an id another notification carries, is a
   * conflict. Attaching it clears a refusal reported before (a retried send went out). A refusal
   * is recorded only while no id is attached: once an email is out, a late report of an earlier
   * failed attempt is a conflict. One read for the lot, then one guarded update per change.
   */
  async applySendOutcomes(sql: SqlRunner, items: SendOutcome[]): Promise<SendOutcomeResult[]> {
    const { rows } = await sql.query<Notification>({
      name: "notifications-by-ids",
      text: `SELECT ${NOTIFICATION_COLUMNS} FROM notifications WHERE id = ANY($1::uuid[])`,
      values: [[...new Set(items.map((item) => item.id))]],
    });
    const current = new Map(rows.map((row) => [row.id, row]));
    const results: SendOutcomeResult[] = [];
    for (const item of items) {
      const row = current.get(item.id);
      if (!row) {
        results.push(NOT_FOUND);
        continue;
      }
      const resendEmailId = "resendEmailId" in item ? item.resendEmailId : null;
      if (row.resendEmailId !== null) {
        results.push(row.resendEmailId === resendEmailId ? applied(row) : CONFLICT);
        continue;
      }
      const sendError =
        resendEmailId === null
          ? jsonForPostgres({ ...(item as SendRefusal).sendError, at: new Date().toISOString() })
          : null;
      try {
        // Guarded on no id yet: two concurrent attaches cannot overwrite each other. An attach
        // clears a refusal reported before; a refusal leaves the (absent) id as it is.
        const {
          rows: [updated],
        } = await sql.query<Notification>({
          name: "notifications-apply-send-outcome",
          text: `UPDATE notifications SET resend_email_id = COALESCE($2, resend_email_id), send_error = $3::jsonb,
                        updated_at = now()
                  WHERE id = $1::uuid AND resend_email_id IS NULL
                 RETURNING ${NOTIFICATION_COLUMNS}`,
          values: [item.id, resendEmailId, sendError],
        });
        if (updated) {
          current.set(item.id, updated);
          results.push(applied(updated));
          continue;
        }
      } catch (error) {
        if (sqlState(error) !== UNIQUE_VIOLATION) throw error;
        results.push(CONFLICT); // another notification carries the id
        continue;
      }
      // A concurrent attach set an id first: the same one (a retried request) is this success.
      const now = await findOne(sql, item.id);
      if (now) current.set(item.id, now);
      results.push(now && resendEmailId !== null && now.resendEmailId === resendEmailId ? applied(now) : CONFLICT);
    }
    return results;
  },

  /**
   * The notifications recorded under these sends' idempotency keys (by tenantKey: a key is unique
   * per tenant, so another tenant's row under the same key is not a repeat) and Resend ids, by each.
   */
  async findExisting(
    sql: SqlRunner,
    inputs: Pick<NewNotification, "idempotencyKey" | "resendEmailId" | "tenant">[],
  ): Promise<{ byKey: Map<string, Notification>; byEmailId: Map<string, Notification> }> {
    const { rows } = await sql.query<Notification>(
      `SELECT ${NOTIFICATION_COLUMNS} FROM notifications
        WHERE idempotency_key = ANY($1::text[]) OR resend_email_id = ANY($2::text[])`,
      [
        inputs.flatMap((input) => (input.idempotencyKey ? [input.idempotencyKey] : [])),
        inputs.flatMap((input) => (input.resendEmailId ? [input.resendEmailId] : [])),
      ],
    );
    return {
      byKey: new Map(
        rows.flatMap((row) => {
          const key = tenantKey(row);
          return key ? [[key, row] as const] : [];
        }),
      ),
      byEmailId: new Map(rows.flatMap((row) => (row.resendEmailId ? [[row.resendEmailId, row] as const] : []))),
    };
  },

  // Reads (Prisma).

  findById(db: DbClient, id: string) {
    return db.notification.findUnique({ where: { id } });
  },

  findByResendEmailId(db: DbClient, resendEmailId: string) {
    return db.notification.findUnique({ where: { resendEmailId } });
  },

  /** Projections of many notifications, for the rebuild's comparison. */
  listProjections(db: DbClient, { afterId, limit, since }: { afterId?: string; limit: number; since?: Date }) {
    return db.notification.findMany({
      where: { ...(afterId ? { id: { gt: afterId } } : {}), ...(since ? { createdAt: { gte: since } } : {}) },
      orderBy: { id: "asc" },
      take: limit,
      select: {
        id: true,
        state: true,
        stateChangedAt: true,
        stateEventType: true,
        stateEventId: true,
        openCount: true,
        clickCount: true,
        firstOpenedAt: true,
        firstClickedAt: true,
      },
    });
  },

  /**
   * Newest first, `limit` rows after the cursor (the id of the last row of the previous page).
   * The position is the cursor row's (createdAt, id), compared in SQL; the cursor row itself is
   * dropped by id rather than skipped, since it may have left the filter (its state moved on).
   */
  async list(db: DbClient, filter: NotificationFilter) {
    // Prisma cannot spell the index's expression: the ids carrying the Message-ID (one, as a rule) come first.
    const withMessageId =
      filter.messageId === undefined
        ? undefined
        : await db.$queryRawUnsafe<{ id: string }[]>(
            `SELECT id::text AS id FROM notifications WHERE ${MESSAGE_ID_KEY} = $1`,
            messageIdKey(filter.messageId),
          );
    const rows = await db.notification.findMany({
      where: {
        ...(filter.email ? { recipients: { has: filter.email } } : {}),
        ...(filter.resendEmailId ? { resendEmailId: filter.resendEmailId } : {}),
        ...(withMessageId ? { id: { in: withMessageId.map((row) => row.id) } } : {}),
        ...(filter.state ? { state: filter.state } : {}),
        ...(filter.tenant ? { tenant: filter.tenant } : {}),
      },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      take: filter.limit + (filter.cursor ? 1 : 0),
      ...(filter.cursor ? { cursor: { id: filter.cursor } } : {}),
    });
    return filter.cursor ? rows.filter((row) => row.id !== filter.cursor).slice(0, filter.limit) : rows;
  },

  // The worker's side (SQL): locks, the email ids tagged events reveal, and the projection.

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
   * the SDK's attach would: only where none is set yet and no other notification carries it. A send
   * Resend's events speak of went out, so a refusal noted on it is cleared. Answers email id → id
   * of those attached.
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

  /** The tenant of each of these notifications (null for none); an unknown id is absent. */
  async tenantsOf(sql: SqlRunner, ids: string[]): Promise<Map<string, string | null>> {
    if (ids.length === 0) return new Map();
    const { rows } = await sql.query<{ id: string; tenant: string | null }>({
      name: "notifications-tenants-of",
      text: "SELECT id::text AS id, tenant FROM notifications WHERE id = ANY($1::uuid[])",
      values: [ids],
    });
    return new Map(rows.map((row) => [row.id, row.tenant]));
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

  /**
   * The update of these notifications' projections (locked by the caller), with what `extras` also
   * keeps of the events applied now; null when none.
   */
  projectionUpdate(projections: Map<string, Projection>, extras?: ProjectionExtras): BatchWrite | null {
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
  },

  async saveProjections(client: SqlClient, projections: Map<string, Projection>): Promise<void> {
    await writeTogether(client, [notifications.projectionUpdate(projections)]);
  },

  /**
   * What the sweeper asks Resend about: notifications with a Resend email id, in a state that is not
   * final, whose last event (or recording) is older than `staleBefore`, and that were not checked
   * since their last event, or were checked at least as long ago as they were old then (each check
   * of a still-stuck email waits twice as long as the one before). Oldest first.
   */
  async sweepCandidates(
    sql: SqlRunner,
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
  async stateOf(sql: SqlRunner, id: string): Promise<DeliveryState | null> {
    const { rows } = await sql.query<{ state: DeliveryState }>("SELECT state FROM notifications WHERE id = $1::uuid", [
      id,
    ]);
    return rows[0]?.state ?? null;
  },

  /** Keep what the sweeper learned from Resend's API (a 404 included) on the notification. */
  async recordResendCheck(sql: SqlRunner, id: string, check: ResendCheck): Promise<void> {
    await sql.query(
      "UPDATE notifications SET resend_checked_at = $2::timestamptz, resend_check = $3::jsonb WHERE id = $1::uuid",
      [id, check.at, JSON.stringify(check)],
    );
  },
};

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
