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
