// The suppression list the send path consults, and the soft-bounce counters that feed it.

import { Prisma, type Suppression, type SuppressionReason } from "../generated/client/index.js";
import type { DbClient } from "./client.ts";

export interface NewSuppression {
  email: string;
  reason: SuppressionReason;
  sourceEventId?: string | null;
  metadata?: Prisma.InputJsonValue | null;
  expiresAt?: Date | null;
}

const active = (now: Date) => ({ OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] });

export const suppressions = {
  /** One row per address: a second reason for a suppressed address is a no-op. True when added. */
  async add(db: DbClient, row: NewSuppression): Promise<boolean> {
    const inserted = await db.suppression.createMany({
      data: [
        {
          email: row.email,
          reason: row.reason,
          sourceEventId: row.sourceEventId ?? null,
          metadata: row.metadata ?? Prisma.DbNull,
          expiresAt: row.expiresAt ?? null,
        },
      ],
      skipDuplicates: true,
    });
    return inserted.count === 1;
  },

  /** The active suppression of an address (an expired one does not count). */
  find(db: DbClient, email: string, now = new Date()): Promise<Suppression | null> {
    return db.suppression.findFirst({ where: { email, ...active(now) } });
  },

  findMany(db: DbClient, emails: string[], now = new Date()): Promise<Suppression[]> {
    return db.suppression.findMany({ where: { email: { in: emails }, ...active(now) } });
  },

  async remove(db: DbClient, email: string): Promise<boolean> {
    const removed = await db.suppression.deleteMany({ where: { email } });
    await db.softBounceCounter.deleteMany({ where: { email } });
    return removed.count > 0;
  },

  list(db: DbClient, { cursor, limit }: { cursor?: string; limit: number }) {
    return db.suppression.findMany({
      orderBy: { email: "asc" },
      take: limit,
      ...(cursor ? { cursor: { email: cursor }, skip: 1 } : {}),
    });
  },
};

export const softBounces = {
  /** Count one more transient bounce in a row for the address; answers the new count. */
  async increment(db: DbClient, email: string, eventId: string, at: Date): Promise<number> {
    const row = await db.softBounceCounter.upsert({
      where: { email },
      create: { email, count: 1, lastEventId: eventId, lastBounceAt: at },
      update: { count: { increment: 1 }, lastEventId: eventId, lastBounceAt: at },
    });
    return row.count;
  },

  /** A delivery ends the run of soft bounces. */
  async reset(db: DbClient, emails: string[]): Promise<void> {
    await db.softBounceCounter.deleteMany({ where: { email: { in: emails } } });
  },

  find(db: DbClient, email: string) {
    return db.softBounceCounter.findUnique({ where: { email } });
  },
};
