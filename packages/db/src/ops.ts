// The read-mostly queries of the ops CLI and the demo: counts by state and reason, parked events, suppressions.
import { type DeliveryState, Prisma, type SuppressionReason } from "../generated/client/index.js";
import type { DbClient } from "./client.ts";

export const ops = {
  /** Notifications per delivery state, of one tenant when given. States with none are left out. */
  async notificationsByState(db: DbClient, { tenant }: { tenant?: string } = {}): Promise<Record<string, number>> {
    const rows = await db.notification.groupBy({
      by: ["state"],
      where: tenant === undefined ? {} : { tenant },
      _count: { _all: true },
    });
    return Object.fromEntries(rows.map((row) => [row.state, row._count._all]));
  },

  /** Notifications whose send Resend refused and that no later send attached an id to. */
  refusedSends(db: DbClient): Promise<number> {
    return db.notification.count({ where: { sendError: { not: Prisma.DbNull } } });
  },

  /** Active suppressions per reason (expired ones do not count). */
  async suppressionsByReason(db: DbClient, now = new Date()): Promise<Record<string, number>> {
    const rows = await db.suppression.groupBy({
      by: ["reason"],
      where: { OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] },
      _count: { _all: true },
    });
    return Object.fromEntries(rows.map((row) => [row.reason, row._count._all]));
  },

  /** Suppressions, newest first, of one reason and one tenant's list when given. */
  listSuppressions(
    db: DbClient,
    { reason, tenant, limit }: { reason?: SuppressionReason; tenant?: string; limit: number },
  ) {
    return db.suppression.findMany({
      where: { ...(reason === undefined ? {} : { reason }), ...(tenant === undefined ? {} : { tenant }) },
      orderBy: [{ createdAt: "desc" }, { email: "asc" }],
      take: limit,
      select: { email: true, tenant: true, reason: true, createdAt: true, expiresAt: true, sourceEventId: true },
    });
  },

  /** Parked events in the log, of one email id when given. */
  countUnmatched(db: DbClient, { emailId }: { emailId?: string } = {}): Promise<number> {
    return db.deliveryEvent.count({ where: { status: "unmatched", ...(emailId === undefined ? {} : { emailId }) } });
  },

  /** What needs a person: dead letters not yet retried into the log, and events logged as invalid. */
  async recoveryCounts(db: DbClient): Promise<{ openDeadLetters: number; invalidEvents: number }> {
    const [openDeadLetters, invalidEvents] = await Promise.all([
      db.deadLetter.count({ where: { resolvedAt: null } }),
      db.deliveryEvent.count({ where: { status: "invalid" } }),
    ]);
    return { openDeadLetters, invalidEvents };
  },

  /** Dead letters of one Resend email id or svix id, or whose body names an address; newest first. */
  deadLettersFor(db: DbClient, { id, address }: { id?: string; address?: string }) {
    return db.deadLetter.findMany({
      where: id
        ? { OR: [{ emailId: id }, { svixId: id }] }
        : { body: { contains: address ?? "", mode: "insensitive" } },
      select: {
        svixId: true,
        eventType: true,
        emailId: true,
        cause: true,
        error: true,
        errorCode: true,
        attempts: true,
        firstFailedAt: true,
        resolvedAt: true,
        resolution: true,
        body: true,
      },
      orderBy: { firstFailedAt: "desc" },
      take: 50,
    });
  },

  /** The log status of each of these svix-ids (absent ones are not in the log). */
  async eventStatuses(db: DbClient, svixIds: string[]): Promise<Map<string, string>> {
    if (svixIds.length === 0) return new Map();
    const rows = await db.deliveryEvent.findMany({
      where: { svixId: { in: svixIds } },
      select: { svixId: true, status: true },
    });
    return new Map(rows.map((row) => [row.svixId, row.status]));
  },

  /** The state of each notification carrying one of these Resend email ids. */
  async statesByEmailId(db: DbClient, emailIds: string[]): Promise<Map<string, DeliveryState>> {
    if (emailIds.length === 0) return new Map();
    const rows = await db.notification.findMany({
      where: { resendEmailId: { in: emailIds } },
      select: { resendEmailId: true, state: true },
    });
    return new Map(rows.flatMap((row) => (row.resendEmailId ? [[row.resendEmailId, row.state] as const] : [])));
  },
};
