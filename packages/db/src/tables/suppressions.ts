// suppressions: the lists the send path consults, one row per address and list. The worker adds
// addresses (bounces, complaints); the API and the CLI add and remove them by hand. Both write
// through the same statements, so an address already on a list keeps its first reason whoever adds it.
//
// Lists (SUPPRESSION_SCOPE): in `global` scope there is one, the null list, and every row counts
// for every send. In `tenant` scope each tenant has its own; the null list (sends recorded without
// a tenant, admin keys without one, and whatever was suppressed before the switch) counts for all.
import type { SuppressionScope } from "@mailstate/runtime";
import type { Prisma, Suppression, SuppressionReason } from "../../generated/client/index.js";
import type { DbClient } from "../client.ts";
import { execute, type Runner, type SqlClient } from "../sql.ts";
import { outbox } from "./outbound.ts";
import { softBounces } from "./soft-bounce-counters.ts";

export interface NewSuppression {
  email: string;
  /** The list it goes on (listOf); null, the list every tenant obeys, when absent. */
  tenant?: string | null;
  reason: SuppressionReason;
  sourceEventId?: string | null;
  metadata?: Prisma.InputJsonValue | null;
  expiresAt?: Date | null;
  /** Who decided it: mailstate (default) or Resend's own list (inbound sync). */
  source?: SuppressionSource;
}

/** `mailstate`: its policy or a person; `resend`: learned from Resend's own list. */
export type SuppressionSource = "mailstate" | "resend";

/** Whose sends a read or a change is for: the scope in force and the tenant (null: a send with none). */
export interface SuppressionView {
  scope: SuppressionScope;
  tenant: string | null;
}

/** Every row counts for every send: the scope mailstate had before tenants, and its default. */
export const GLOBAL_VIEW: SuppressionView = Object.freeze({ scope: "global", tenant: null });

/** The list a suppression for this view goes on, and the one its removal takes it off. */
export function listOf(view: SuppressionView): string | null {
  return view.scope === "tenant" ? view.tenant : null;
}

/** A condition on a `tenant` column, as the where clause of any table that has one. */
export type ListFilter = Record<string, never> | { tenant: null } | { OR: ({ tenant: null } | { tenant: string })[] };

/**
 * The rows that suppress a send of this view: every row in global scope; its own list and the null
 * list in tenant scope. The audit log's entries are read by the same rule.
 */
export function applyingTo(view: SuppressionView): ListFilter {
  if (view.scope === "global") return {};
  return view.tenant === null ? { tenant: null } : { OR: [{ tenant: null }, { tenant: view.tenant }] };
}

/** Of an address's applying rows, the one answered: its own list's before the null list, then the oldest. */
const PREFERRED: Prisma.SuppressionOrderByWithRelationInput[] = [
  { tenant: { sort: "asc", nulls: "last" } },
  { createdAt: "asc" },
];

const active = (now: Date): Prisma.SuppressionWhereInput => ({ OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] });

/** The first keys of the worker's advisory locks on addresses, so they share no space with others'. */
const ADDRESS_LOCK_SPACE = 0x6d73; // "ms"
const ADDRESS_GATE_SPACE = 0x6d74;
/** Address locks one transaction takes at most; PostgreSQL's default budget is 64 per connection. */
const MAX_ADDRESS_LOCKS = 48;

export const suppressions = {
  /**
   * One row per address and list: a second reason for a listed address is a no-op, unless the row
   * there has expired (it no longer counts), which the new one replaces. True when added.
   */
  async add(runner: Runner, row: NewSuppression): Promise<boolean> {
    const added = await execute(
      runner,
      `INSERT INTO suppressions (email, tenant, reason, source_event_id, metadata, expires_at, source)
       VALUES ($1, $2, $3::"SuppressionReason", $4, $5::jsonb, $6::timestamptz, $7)
       ON CONFLICT (email, tenant) DO UPDATE SET reason = EXCLUDED.reason, source_event_id = EXCLUDED.source_event_id,
         metadata = EXCLUDED.metadata, expires_at = EXCLUDED.expires_at, created_at = now(), source = EXCLUDED.source
        WHERE suppressions.expires_at <= now()`,
      [
        row.email,
        row.tenant ?? null,
        row.reason,
        row.sourceEventId ?? null,
        row.metadata == null ? null : JSON.stringify(row.metadata),
        row.expiresAt?.toISOString() ?? null,
        row.source ?? "mailstate",
      ],
    );
    if (added !== 1) return false;
    // In the same transaction as the row: an endpoint hears of it if and only if it happened.
    await outbox.suppressionChanges(runner, [
      { type: "suppression.created", email: row.email, reason: row.reason, tenant: row.tenant ?? null, at: new Date() },
    ]);
    return true;
  },

  /**
   * Note on the null list's row of an address that Resend's own list holds it (suppression.added,
   * email.suppressed) or no longer does (suppression.removed): what a bypassing send is warned of.
   */
  async markResendListed(runner: Runner, email: string, listed: boolean): Promise<void> {
    await execute(
      runner,
      `UPDATE suppressions SET metadata = COALESCE(metadata, '{}'::jsonb) || jsonb_build_object('resendListed', $2::boolean)
        WHERE email = $1 AND tenant IS NULL`,
      [email, listed],
    );
  },

  /** Take the address off every list where Resend's own list put it (suppression.removed); true when it was. */
  async removeFromResend(runner: Runner, email: string): Promise<boolean> {
    return (await removeRows(runner, email, "DELETE FROM suppressions WHERE email = $1 AND source = 'resend'", [])) > 0;
  },

  /**
   * Take the address off the view's list (in global scope, off every list: each of them counts);
   * its run of soft bounces on that list ends now. True when it was on it.
   */
  async remove(runner: Runner, email: string, view: SuppressionView = GLOBAL_VIEW, now = new Date()): Promise<boolean> {
    const list = listOf(view);
    const removed =
      view.scope === "global"
        ? await removeRows(runner, email, "DELETE FROM suppressions WHERE email = $1", [])
        : await removeRows(
            runner,
            email,
            "DELETE FROM suppressions WHERE email = $1 AND tenant IS NOT DISTINCT FROM $2",
            [list],
          );
    await softBounces.reset(runner, [{ email, tenant: list, at: now }]);
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

  /** The active suppression of an address that applies to the view (an expired one does not count). */
  find(
    db: DbClient,
    email: string,
    view: SuppressionView = GLOBAL_VIEW,
    now = new Date(),
  ): Promise<Suppression | null> {
    return db.suppression.findFirst({ where: { AND: [{ email }, active(now), applyingTo(view)] }, orderBy: PREFERRED });
  },

  /** The active suppressions of these addresses that apply to the view, one per address. */
  async findMany(
    db: DbClient,
    emails: string[],
    view: SuppressionView = GLOBAL_VIEW,
    now = new Date(),
  ): Promise<Suppression[]> {
    const rows = await db.suppression.findMany({
      where: { AND: [{ email: { in: emails } }, active(now), applyingTo(view)] },
      orderBy: PREFERRED,
    });
    const first = new Map<string, Suppression>();
    for (const row of rows) if (!first.has(row.email)) first.set(row.email, row);
    return [...first.values()];
  },

  /** The active row of an address on one list exactly (null: the null list). */
  findOnList(db: DbClient, email: string, tenant: string | null, now = new Date()): Promise<Suppression | null> {
    return db.suppression.findFirst({ where: { AND: [{ email, tenant }, active(now)] } });
  },

  /**
   * A page of the active suppressions that apply to the view (of every list when none is given),
   * newest first; `cursor` is the id of the last row of the previous page.
   */
  list(
    db: DbClient,
    { view, cursor, limit, now = new Date() }: { view?: SuppressionView; cursor?: bigint; limit: number; now?: Date },
  ): Promise<Suppression[]> {
    return db.suppression.findMany({
      where: { AND: [active(now), view ? applyingTo(view) : {}, cursor === undefined ? {} : { id: { lt: cursor } }] },
      orderBy: { id: "desc" },
      take: limit,
    });
  },
};

/**
 * Run a DELETE of an address's rows, and write `suppression.removed` for each row it took off, in
 * the same transaction. Answers how many it took off.
 */
async function removeRows(runner: Runner, email: string, text: string, values: unknown[]): Promise<number> {
  const statement = `${text} RETURNING tenant, reason::text AS reason`;
  const params = [email, ...values];
  const rows: { tenant: string | null; reason: string }[] =
    "$queryRawUnsafe" in runner
      ? await runner.$queryRawUnsafe(statement, ...params)
      : (await runner.query<{ tenant: string | null; reason: string }>(statement, params)).rows;
  const at = new Date();
  await outbox.suppressionChanges(
    runner,
    rows.map(({ tenant, reason }) => ({ type: "suppression.removed", email, reason, tenant, at })),
  );
  return rows.length;
}

/** Whether Resend's own list holds the address, as far as its webhooks said (see markResendListed). */
export function onResendList(row: Pick<Suppression, "source" | "metadata">): boolean {
  if (row.source === "resend") return true;
  const metadata = row.metadata;
  return (
    typeof metadata === "object" && metadata !== null && !Array.isArray(metadata) && metadata.resendListed === true
  );
}
