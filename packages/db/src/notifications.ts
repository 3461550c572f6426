// Notifications: what the application recorded, and the projection of its event log.

import { type DeliveryState, type Notification, Prisma } from "../generated/client/index.js";
import type { DbClient } from "./client.ts";

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

export interface NotificationFilter {
  email?: string;
  resendEmailId?: string;
  state?: DeliveryState;
  tenant?: string;
  /** id of the last row of the previous page */
  cursor?: string;
  limit: number;
}

function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002";
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

/** The outcome of one send: Resend's email id, or its refusal. */
export type SendOutcome = { id: string; resendEmailId: string } | SendRefusal;

/** An update whose where clause matched no row (P2025). */
function isRecordNotFound(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2025";
}

export const notifications = {
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
    const [outcome] = await notifications.applySendOutcomes(db, [
      { id: existing.id, resendEmailId: input.resendEmailId },
    ]);
    // The id is another notification's: the repeat answers the first record as it is.
    return typeof outcome === "object" ? { notification: outcome, created: false, attached: true } : unchanged;
  },

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

  /**
   * Set the Resend email id once. Answers the row, or "conflict" when the notification already
   * carries another id or another notification carries this one.
   */
  async attachResendEmailId(
    db: DbClient,
    id: string,
    resendEmailId: string,
  ): Promise<Notification | "not_found" | "conflict"> {
    const [outcome] = await notifications.applySendOutcomes(db, [{ id, resendEmailId }]);
    return outcome ?? "not_found";
  },

  /**
   * What came of each send, one result per item in order. Resend's id is set once: the same pair
   * again is the notification as it is; another id, or an id another notification carries, is a
   * conflict. Attaching it clears a refusal reported before (a retried send went out). A refusal
   * is recorded only while no id is attached: once an email is out, a late report of an earlier
   * failed attempt is a conflict. One read for the lot, then one guarded update per change.
   */
  async applySendOutcomes(db: DbClient, items: SendOutcome[]): Promise<(Notification | "not_found" | "conflict")[]> {
    const rows = await db.notification.findMany({ where: { id: { in: [...new Set(items.map((item) => item.id))] } } });
    const current = new Map(rows.map((row) => [row.id, row]));
    const outcomes: (Notification | "not_found" | "conflict")[] = [];
    for (const item of items) {
      const row = current.get(item.id);
      if (!row) {
        outcomes.push("not_found");
        continue;
      }
      const resendEmailId = "resendEmailId" in item ? item.resendEmailId : null;
      if (row.resendEmailId !== null) {
        outcomes.push(row.resendEmailId === resendEmailId ? row : "conflict");
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
        outcomes.push(updated);
      } catch (error) {
        if (isUniqueViolation(error)) {
          outcomes.push("conflict"); // another notification carries the id
          continue;
        }
        if (!isRecordNotFound(error)) throw error;
        // A concurrent attach set an id first: the same one (a retried request) is this success.
        const now = await db.notification.findUnique({ where: { id: item.id } });
        if (now) current.set(item.id, now);
        outcomes.push(now && resendEmailId !== null && now.resendEmailId === resendEmailId ? now : "conflict");
      }
    }
    return outcomes;
  },

  saveProjection(db: DbClient, id: string, projection: Projection) {
    return db.notification.update({ where: { id }, data: projection });
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

  async countByState(db: DbClient): Promise<Record<string, number>> {
    const rows = await db.notification.groupBy({ by: ["state"], _count: { _all: true } });
    return Object.fromEntries(rows.map((row) => [row.state, row._count._all]));
  },
};
