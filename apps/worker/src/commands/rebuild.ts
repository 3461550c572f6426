// `mailstate rebuild [--write]`: fold every notification's log again and report how many projections
// and reputation rollup rows differ, from the retention horizon on (RETENTION_DAYS).
import { rebuildHorizon, retentionCutoff } from "@mailstate/db";
import { rebuildProjections, rebuildRollups } from "../reconcile/rebuild.ts";
import { type Context, EXIT, fromDb } from "./context.ts";

/** Exit 1 when projections differ and were not repaired (a health check can alert on it). */
export async function rebuild(context: Context, { write }: { write: boolean }): Promise<number> {
  const started = performance.now();
  // Before the retention horizon, notifications are gone (or going): their rollups stay as they are.
  const since = await fromDb(
    context,
    rebuildHorizon(context.sql(), retentionCutoff(new Date(), context.env.RETENTION_DAYS)),
  );
  const report = await fromDb(context, rebuildProjections(context.db(), context.sql(), { write, since }));
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  context.io.out(
    `checked ${report.checked} notifications in ${seconds}s: ${report.differed} differed from the log${write && report.differed ? " (repaired)" : ""}`,
  );
  if (report.examples.length) context.io.out(`examples: ${report.examples.slice(0, 10).join(", ")}`);
  const rollups = await fromDb(context, rebuildRollups(context.sql(), { write, since }));
  context.io.out(
    `checked ${rollups.rows} reputation rollup rows: ${rollups.differed} differed from the log${write && rollups.differed ? " (repaired)" : ""}`,
  );
  if (rollups.examples.length) context.io.out(`rollup examples: ${rollups.examples.slice(0, 10).join(", ")}`);
  return (report.differed > 0 || rollups.differed > 0) && !write ? EXIT.problem : EXIT.ok;
}
