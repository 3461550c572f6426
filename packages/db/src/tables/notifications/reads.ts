// Notifications as the API (/v1, the support pages) and the worker's rebuild read them, through
// Prisma: by id, by Resend email id, a filtered page, or a page of projections.
import type { DeliveryState } from "../../../generated/client/index.js";
import type { DbClient } from "../../client.ts";

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

export const notificationReads = {
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
};
