// Recompute every projection from the event log and report the drift: zero when healthy.
import { type Db, notifications, type Projection, type SqlPool, withSqlTransaction } from "@mailstate/db";
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

export function projectionsDiffer(stored: Projection, computed: Projection): boolean {
  return FIELDS.some((field) => !same(stored[field], computed[field]));
}

/**
 * Fold every notification's log and compare with its stored projection. A page is compared without
 * locks; a notification that differs is compared again under its row lock, so a batch the worker
 * is committing at that moment is not reported as drift. With `write`, that locked pass repairs it.
 */
export async function rebuildProjections(
  db: Db,
  sql: SqlPool,
  { write = false, pageSize = 500 } = {},
): Promise<RebuildReport> {
  const report: RebuildReport = { checked: 0, differed: 0, examples: [] };
  let afterId: string | undefined;
  for (;;) {
    const page = await notifications.listProjections(db, { afterId, limit: pageSize });
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
    const stored = await notifications.lockedProjection(client, id, write ? "update" : "share");
    const fresh = (await computeProjections(client, [id])).get(id);
    if (!stored || !fresh || !projectionsDiffer(stored, fresh)) return false;
    if (write) await notifications.saveProjections(client, new Map([[id, fresh]]));
    return true;
  });
}
