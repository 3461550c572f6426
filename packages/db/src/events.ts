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

export interface AdoptedEvent {
  svixId: string;
  type: string;
  payload: Prisma.JsonValue;
  notificationId: string;
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

  /** Insert the rows whose svix-id is not logged yet; answers the svix-ids this call added. */
  async appendMany(db: DbClient, rows: NewEvent[]): Promise<Set<string>> {
    if (rows.length === 0) return new Set();
    const inserted = await db.deliveryEvent.createManyAndReturn({
      data: rows,
      skipDuplicates: true,
      select: { svixId: true },
    });
    return new Set(inserted.map((row) => row.svixId));
  },

  findManyBySvixIds(db: DbClient, svixIds: string[]) {
    return db.deliveryEvent.findMany({
      where: { svixId: { in: svixIds } },
      select: { svixId: true, status: true, emailId: true, notificationId: true },
    });
  },

  /**
   * Attach every parked event of these email ids to the notification that now carries the id, and
   * mark it applied: the status flip is what makes a parked event count, exactly once.
   */
  adoptUnmatched(db: DbClient, emailIds: string[]): Promise<AdoptedEvent[]> {
    if (emailIds.length === 0) return Promise.resolve([]);
    return db.$queryRaw<AdoptedEvent[]>`
      UPDATE delivery_events AS e
         SET status = 'applied', notification_id = n.id
        FROM notifications AS n
       WHERE n.resend_email_id = ANY(${emailIds}::text[])
         AND e.email_id = n.resend_email_id
         AND e.status = 'unmatched'
      RETURNING e.svix_id AS "svixId", e.type, e.payload, n.id::text AS "notificationId"`;
  },

  /** The applied events of these notifications, oldest first: what their projections fold. */
  listAppliedFor(db: DbClient, notificationIds: string[]) {
    return db.deliveryEvent.findMany({
      where: { notificationId: { in: notificationIds }, status: "applied" },
      select: { svixId: true, type: true, payload: true, notificationId: true },
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

  setStatus(db: DbClient, svixId: string, status: EventStatus, notificationId: string | null) {
    return db.deliveryEvent.update({ where: { svixId }, data: { status, notificationId } });
  },

  countByStatus(db: DbClient, status: EventStatus) {
    return db.deliveryEvent.count({ where: { status } });
  },
};
