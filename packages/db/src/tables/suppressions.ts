// suppressions: the list the send path consults, one row per address. The worker adds addresses
// (bounces, complaints); the API and the CLI add and remove them by hand. Both write through the
// same statements, so an address already suppressed keeps its first reason whoever adds it.
import type { Prisma, Suppression, SuppressionReason } from "../../generated/client/index.js";
import type { DbClient } from "../client.ts";
import { execute, type Runner, type SqlClient } from "../sql.ts";
import { softBounces } from "./soft-bounce-counters.ts";

export interface NewSuppression {
  email: string;
  reason: SuppressionReason;
  sourceEventId?: string | null;
  metadata?: Prisma.InputJsonValue | null;
  expiresAt?: Date | null;
}

const active = (now: Date) => ({ OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] });

/** The first keys of the worker's advisory locks on addresses, so they share no space with others'. */
const ADDRESS_LOCK_SPACE = 0x6d73; // "ms"
const ADDRESS_GATE_SPACE = 0x6d74;
/** Address locks one transaction takes at most; PostgreSQL's default budget is 64 per connection. */
const MAX_ADDRESS_LOCKS = 48;

export const suppressions = {
  /** One row per address: a second reason for a suppressed address is a no-op. True when added. */
  async add(runner: Runner, row: NewSuppression): Promise<boolean> {
    const added = await execute(
      runner,
      `INSERT INTO suppressions (email, reason, source_event_id, metadata, expires_at)
       VALUES ($1, $2::"SuppressionReason", $3, $4::jsonb, $5::timestamptz) ON CONFLICT (email) DO NOTHING`,
      [
        row.email,
        row.reason,
        row.sourceEventId ?? null,
        row.metadata == null ? null : JSON.stringify(row.metadata),
        row.expiresAt?.toISOString() ?? null,
      ],
    );
    return added === 1;
  },

  /** Take the address off the list; its run of soft bounces ends now. True when it was on it. */
  async remove(runner: Runner, email: string, now = new Date()): Promise<boolean> {
    const removed = await execute(runner, "DELETE FROM suppressions WHERE email = $1", [email]);
    await softBounces.reset(runner, [{ email, at: now }]);
    return removed > 0;
  },

  /**
   * Take the transaction's locks on these addresses (counters, suppressions) up front, in one
   * order for every transaction: two batches touching the same addresses then queue instead of
   * deadlocking, whatever order their statements reach the rows in. Every batch first holds a
   * gate: shared, then one lock per address; a batch with more than MAX_ADDRESS_LOCKS addresses
   * takes the gate alone, exclusively, so no transaction holds more locks than PostgreSQL's
   * shared lock table can spare.
   */
  async lockAddresses(client: SqlClient, emails: string[]): Promise<void> {
    const distinct = [...new Set(emails)];
    if (distinct.length === 0) return;
    if (distinct.length > MAX_ADDRESS_LOCKS) {
      await client.query(`SELECT pg_advisory_xact_lock(${ADDRESS_GATE_SPACE}, 0)`);
      return;
    }
    await client.query(
      `SELECT CASE WHEN k.gate THEN pg_advisory_xact_lock_shared(${ADDRESS_GATE_SPACE}, 0)
                   ELSE pg_advisory_xact_lock(${ADDRESS_LOCK_SPACE}, k.h) END
         FROM (SELECT true AS gate, 0 AS h
               UNION ALL SELECT DISTINCT false, hashtext(e) FROM unnest($1::text[]) AS e
               ORDER BY gate DESC, h) AS k`,
      [distinct],
    );
  },

  // Reads (Prisma).

  /** The active suppression of an address (an expired one does not count). */
  find(db: DbClient, email: string, now = new Date()): Promise<Suppression | null> {
    return db.suppression.findFirst({ where: { email, ...active(now) } });
  },

  findMany(db: DbClient, emails: string[], now = new Date()): Promise<Suppression[]> {
    return db.suppression.findMany({ where: { email: { in: emails }, ...active(now) } });
  },

  list(db: DbClient, { cursor, limit }: { cursor?: string; limit: number }) {
    return db.suppression.findMany({
      orderBy: { email: "asc" },
      take: limit,
      ...(cursor ? { cursor: { email: cursor }, skip: 1 } : {}),
    });
  },
};
