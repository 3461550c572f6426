// The append-only delivery event log: one row per svix-id, the source of truth for every state.

import type { EventStatus, Prisma } from "../generated/client/index.js";
import type { DbClient } from "./client.ts";

export interface NewEvent {
  svixId: string;
  type: string;
  occurredAt: Date;
  emailId: string | null;
  payload: Prisma.InputJsonValue;
  notificationId: string | null;
  status: EventStatus;
}

/** The event types of the engagement log: they never move delivery state. */
export const ENGAGEMENT_TYPES = ["email.opened", "email.clicked"] as const;

export const events = {
  /** Insert unless the svix-id is already logged. True when this call added the row. */
  async append(db: DbClient, event: NewEvent): Promise<boolean> {
    const inserted = await db.deliveryEvent.createMany({ data: [event], skipDuplicates: true });
    return inserted.count === 1;
  },

  findBySvixId(db: DbClient, svixId: string) {
    return db.deliveryEvent.findUnique({ where: { svixId } });
  },

  /** Every logged event of one notification, or of its Resend email id (parked ones included). */
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
};
