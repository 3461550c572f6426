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

  listByEmailId(db: DbClient, emailId: string) {
    return db.deliveryEvent.findMany({ where: { emailId }, orderBy: [{ occurredAt: "asc" }, { svixId: "asc" }] });
  },

  /** Attach parked events of this email id to their notification and mark them applied. */
  async adoptUnmatched(db: DbClient, emailId: string, notificationId: string): Promise<number> {
    const result = await db.deliveryEvent.updateMany({
      where: { emailId, status: "unmatched" },
      data: { notificationId, status: "applied" },
    });
    return result.count;
  },

  setStatus(db: DbClient, svixId: string, status: EventStatus, notificationId: string | null) {
    return db.deliveryEvent.update({ where: { svixId }, data: { status, notificationId } });
  },

  countByStatus(db: DbClient, status: EventStatus) {
    return db.deliveryEvent.count({ where: { status } });
  },
};
