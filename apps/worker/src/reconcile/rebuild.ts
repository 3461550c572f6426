// Recompute every projection from the event log and report the drift: zero when healthy.
import {
  type Db,
  notifications,
  type Projection,
  reconcileStore,
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

export function projectionsDiffer(stored: Projection, computed: Projection): boolean {
  return FIELDS.some((field) => !same(stored[field], computed[field]));
}

/** With `write`, also repairs each differing projection (under a row lock, refolded in the lock). */
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
      report.differed += 1;
      if (report.examples.length < 100) report.examples.push(stored.id);
      if (write) {
        await withSqlTransaction(sql, async (client) => {
          await client.query("SELECT 1 FROM notifications WHERE id = $1::uuid FOR UPDATE", [stored.id]);
          await reconcileStore.saveChanges(client, { projections: await computeProjections(client, [stored.id]) });
        });
      }
    }
    afterId = page.at(-1)?.id;
  }
  return report;
}
