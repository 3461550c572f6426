// Opens and clicks, kept apart from delivery state.

import type { EngagementKind } from "../generated/client/index.js";
import type { DbClient } from "./client.ts";

export interface NewEngagement {
  svixId: string;
  notificationId: string;
  kind: EngagementKind;
  occurredAt: Date;
  link?: string | null;
  userAgent?: string | null;
  ipAddress?: string | null;
}

export const engagement = {
  async append(db: DbClient, row: NewEngagement): Promise<boolean> {
    const inserted = await db.engagementEvent.createMany({ data: [row], skipDuplicates: true });
    return inserted.count === 1;
  },

  /** The engagement rows of these events (svix-ids), for a page of a timeline. */
  listForEvents(db: DbClient, svixIds: string[]) {
    return db.engagementEvent.findMany({ where: { svixId: { in: svixIds } } });
  },

  listForNotification(db: DbClient, notificationId: string) {
    return db.engagementEvent.findMany({
      where: { notificationId },
      orderBy: [{ occurredAt: "asc" }, { svixId: "asc" }],
    });
  },
};
