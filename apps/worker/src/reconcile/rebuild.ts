// Recompute every projection and the reputation rollups from the event log and report the drift: zero when healthy.
import {
  type Db,
  notificationProjections,
  notificationReads,
  type Projection,
  type RollupRow,
  reputation,
  type SqlPool,
  withSqlTransaction,
} from "@mailstate/db";
import { computeProjections } from "./project.ts";

export interface RebuildReport {
  checked: number;
  differed: number;
  /** ids of the notifications whose stored projection differed (first 100) */
  examples: string[];
}

const FIELDS: (keyof Projection)[] = [
  "state",
  "stateChangedAt",
  "stateEventType",
  "stateEventId",
  "openCount",
  "clickCount",
  "firstOpenedAt",
  "firstClickedAt",
];

function same(a: unknown, b: unknown): boolean {
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  return a === b;
}

function projectionsDiffer(stored: Projection, computed: Projection): boolean {
  return FIELDS.some((field) => !same(stored[field], computed[field]));
}

/**
 * Fold every notification's log (of those recorded from `since` on: the retention horizon) and compare with its stored projection. A page is compared without
 * locks; a notification that differs is compared again under its row lock, so a batch the worker
 * is committing at that moment is not reported as drift. With `write`, that locked pass repairs it.
 */
export async function rebuildProjections(
  db: Db,
  sql: SqlPool,
  { write = false, pageSize = 500, since }: { write?: boolean; pageSize?: number; since?: Date } = {},
): Promise<RebuildReport> {
  const report: RebuildReport = { checked: 0, differed: 0, examples: [] };
  let afterId: string | undefined;
  for (;;) {
    const page = await notificationReads.listProjections(db, { afterId, limit: pageSize, ...(since ? { since } : {}) });
    if (page.length === 0) break;
    const computed = await computeProjections(
      sql,
      page.map((row) => row.id),
    );
    for (const stored of page) {
      report.checked += 1;
      const fresh = computed.get(stored.id);
      if (!fresh || !projectionsDiffer(stored, fresh)) continue;
      if (!(await driftsUnderLock(sql, stored.id, write))) continue;
      report.differed += 1;
      if (report.examples.length < 100) report.examples.push(stored.id);
    }
    afterId = page.at(-1)?.id;
  }
  return report;
}

/** Whether the notification's projection still differs from its log once locked; repaired when `write`. */
async function driftsUnderLock(sql: SqlPool, id: string, write: boolean): Promise<boolean> {
  return withSqlTransaction(sql, async (client) => {
    const stored = await notificationProjections.lockedProjection(client, id, write ? "update" : "share");
    const fresh = (await computeProjections(client, [id])).get(id);
    if (!stored || !fresh || !projectionsDiffer(stored, fresh)) return false;
    if (write) await notificationProjections.saveProjections(client, new Map([[id, fresh]]));
    return true;
  });
}

export interface RollupReport {
  /** Rows (hour, tenant, category, from-domain) the log defines. */
  rows: number;
  /** Rows stored differently, or missing, or stored and not defined. */
  differed: number;
  /** The first keys that differed, as `hour tenant/category/domain`. */
  examples: string[];
}

const rollupKey = (row: RollupRow) =>
  `${row.hour.toISOString()} ${row.tenant || "-"}/${row.category || "-"}/${row.fromDomain || "-"}`;
const rollupValue = (row: RollupRow) =>
  [row.sent, row.delivered, row.hardBounced, row.softBounced, row.complained].join(",");

/** The keys whose stored and recomputed rollups differ. */
function rollupsDiffer(stored: RollupRow[], computed: RollupRow[]): string[] {
  const have = new Map(stored.map((row) => [rollupKey(row), rollupValue(row)]));
  const want = new Map(computed.map((row) => [rollupKey(row), rollupValue(row)]));
  return [...new Set([...have.keys(), ...want.keys()])].filter((key) => have.get(key) !== want.get(key)).sort();
}

/**
 * Recompute the reputation rollups from the notifications and the log, compare with the stored
 * ones, and with `write` replace them; from the hour `since` on when given (the retention horizon:
 * older hours outlive their notifications, which retention removed). Both run in one transaction holding the rollup table's lock,
 * so no batch of the worker commits in between (it waits, and adds its change after).
 */
export async function rebuildRollups(
  sql: SqlPool,
  { write = false, since }: { write?: boolean; since?: Date } = {},
): Promise<RollupReport> {
  return withSqlTransaction(sql, async (client) => {
    await client.query("LOCK TABLE reputation_hourly IN SHARE ROW EXCLUSIVE MODE");
    const computed = await reputation.recomputed(client, since);
    const differed = rollupsDiffer(await reputation.stored(client, since), computed);
    if (write && differed.length > 0) await reputation.replace(client, since);
    return { rows: computed.length, differed: differed.length, examples: differed.slice(0, 100) };
  });
}
