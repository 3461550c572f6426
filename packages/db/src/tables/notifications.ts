// notifications: what the application recorded (the API writes it, through Prisma) and the
// projection of its event log (the worker writes it, in SQL). Resend's email id is set once, by
// whichever comes first: the SDK's attach (API) or a tagged event (worker), under the same guard.
import { type DeliveryState, type Notification, Prisma } from "../../generated/client/index.js";
import type { DbClient } from "../client.ts";
import { type BatchWrite, type Runner, type SqlClient, type SqlPool, select, writeTogether } from "../sql.ts";

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

function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002";
}

/** An update whose where clause matched no row (P2025). */
function isRecordNotFound(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2025";
}

const PROJECTION_COLUMNS = `state::text AS "state", state_changed_at AS "stateChangedAt",
  state_event_type AS "stateEventType", state_event_id AS "stateEventId", open_count AS "openCount",
  click_count AS "clickCount", first_opened_at AS "firstOpenedAt", first_clicked_at AS "firstClickedAt"`;

export const notifications = {
  // What the application records and reports (the API, through Prisma).

  /**
   * Insert, or return the existing row when the idempotency key or the Resend email id is already
   * recorded. `created` says which. A repeat of a key that now brings the Resend id the first
   * record lacked attaches it (`attached`), as the PATCH after a send would.
   */
  async record(
    db: DbClient,
    input: NewNotification,
  ): Promise<{ notification: Notification; created: boolean; attached: boolean }> {
    const existing = await notifications.findExisting(db, input);
    if (existing) return notifications.attachOnRepeat(db, existing, input);
    try {
      const notification = await db.notification.create({
        data: {
          resendEmailId: input.resendEmailId ?? null,
          recipients: input.recipients,
          from: input.from,
          subject: input.subject,
          tenant: input.tenant ?? null,
          tags: input.tags ?? {},
          category: input.category ?? null,
          metadata: input.metadata ?? Prisma.DbNull,
          idempotencyKey: input.idempotencyKey ?? null,
          suppressionBypassed: input.suppressionBypassed ?? false,
        },
      });
      return { notification, created: true, attached: false };
    } catch (error) {
      // A concurrent record of the same key won the race: answer with its row.
      if (!isUniqueViolation(error)) throw error;
      const winner = await notifications.findExisting(db, input);
      if (!winner) throw error;
      return notifications.attachOnRepeat(db, winner, input);
    }
  },

  async attachOnRepeat(db: DbClient, existing: Notification, input: Pick<NewNotification, "resendEmailId">) {
    const unchanged = { notification: existing, created: false, attached: false };
    if (existing.resendEmailId !== null || !input.resendEmailId) return unchanged;
    const [result] = await notifications.applySendOutcomes(db, [
      { id: existing.id, resendEmailId: input.resendEmailId },
    ]);
    // The id is another notification's: the repeat answers the first record as it is.
    return result?.kind === "applied"
      ? { notification: result.notification, created: false, attached: true }
      : unchanged;
  },

  /**
   * What came of each send, one result per item in order. Resend's id is set once: the same pair
   * again is the notification as it is; another id, or an id another notification carries, is a
   * conflict. Attaching it clears a refusal reported before (a retried send went out). A refusal
   * is recorded only while no id is attached: once an email is out, a late report of an earlier
   * failed attempt is a conflict. One read for the lot, then one guarded update per change.
   */
  async applySendOutcomes(db: DbClient, items: SendOutcome[]): Promise<SendOutcomeResult[]> {
    const rows = await db.notification.findMany({ where: { id: { in: [...new Set(items.map((item) => item.id))] } } });
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
      const data =
        resendEmailId !== null
          ? { resendEmailId, sendError: Prisma.DbNull }
          : { sendError: { ...(item as SendRefusal).sendError, at: new Date().toISOString() } };
      try {
        // Guarded on no id yet: two concurrent attaches cannot overwrite each other.
        const updated = await db.notification.update({ where: { id: item.id, AND: [{ resendEmailId: null }] }, data });
        current.set(item.id, updated);
        results.push(applied(updated));
      } catch (error) {
        if (isUniqueViolation(error)) {
          results.push(CONFLICT); // another notification carries the id
          continue;
        }
        if (!isRecordNotFound(error)) throw error;
        // A concurrent attach set an id first: the same one (a retried request) is this success.
        const now = await db.notification.findUnique({ where: { id: item.id } });
        if (now) current.set(item.id, now);
        results.push(now && resendEmailId !== null && now.resendEmailId === resendEmailId ? applied(now) : CONFLICT);
      }
    }
    return results;
  },

  // Reads (Prisma).

  async findExisting(db: DbClient, input: Pick<NewNotification, "idempotencyKey" | "resendEmailId">) {
    if (input.idempotencyKey) {
      const byKey = await db.notification.findUnique({ where: { idempotencyKey: input.idempotencyKey } });
      if (byKey) return byKey;
    }
    if (input.resendEmailId) {
      return db.notification.findUnique({ where: { resendEmailId: input.resendEmailId } });
    }
    return null;
  },

  findById(db: DbClient, id: string) {
    return db.notification.findUnique({ where: { id } });
  },

  findByResendEmailId(db: DbClient, resendEmailId: string) {
    return db.notification.findUnique({ where: { resendEmailId } });
  },

  /** Projections of many notifications, for the rebuild's comparison. */
  listProjections(db: DbClient, { afterId, limit }: { afterId?: string; limit: number }) {
    return db.notification.findMany({
      where: afterId ? { id: { gt: afterId } } : {},
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
    const rows = await db.notification.findMany({
      where: {
        ...(filter.email ? { recipients: { has: filter.email } } : {}),
        ...(filter.resendEmailId ? { resendEmailId: filter.resendEmailId } : {}),
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
  async lockByEmailIds(client: SqlClient, emailIds: string[]): Promise<Map<string, string>> {
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
  async tenantsOf(runner: Runner, ids: string[]): Promise<Map<string, string | null>> {
    if (ids.length === 0) return new Map();
    const rows = await select<{ id: string; tenant: string | null }>(
      runner,
      "SELECT id::text AS id, tenant FROM notifications WHERE id = ANY($1::uuid[])",
      [ids],
    );
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
   * The stored engagement counters of these notifications. Read them under the row lock the
   * transaction holds (lockMatches, lockByEmailIds): each event flips to applied once, under that
   * lock, so the stored counters plus this transaction's newly applied opens and clicks are exact.
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

  /** The update of these notifications' projections (locked by the caller); null when none. */
  projectionUpdate(projections: Map<string, Projection>): BatchWrite | null {
    if (projections.size === 0) return null;
    return {
      name: "projections",
      statement: (records) => `UPDATE notifications AS n SET
          state = v.state, state_changed_at = v.state_changed_at, state_event_type = v.state_event_type,
          state_event_id = v.state_event_id, open_count = v.open_count, click_count = v.click_count,
          first_opened_at = v.first_opened_at, first_clicked_at = v.first_clicked_at, updated_at = now()
         FROM jsonb_to_recordset(${records}::jsonb)
              AS v(id uuid, state "DeliveryState", state_changed_at timestamptz, state_event_type text,
                   state_event_id text, open_count int, click_count int, first_opened_at timestamptz,
                   first_clicked_at timestamptz)
        WHERE n.id = v.id`,
      records: JSON.stringify(
        [...projections].map(([id, projection]) => ({
          id,
          state: projection.state,
          state_changed_at: projection.stateChangedAt,
          state_event_type: projection.stateEventType,
          state_event_id: projection.stateEventId,
          open_count: projection.openCount,
          click_count: projection.clickCount,
          first_opened_at: projection.firstOpenedAt,
          first_clicked_at: projection.firstClickedAt,
        })),
      ),
    };
  },

  async saveProjections(client: SqlClient, projections: Map<string, Projection>): Promise<void> {
    await writeTogether(client, [notifications.projectionUpdate(projections)]);
  },
};
