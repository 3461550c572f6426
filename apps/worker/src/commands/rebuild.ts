// `mailstate rebuild [--write]`: fold every notification's log again and report how many projections differ.
import { rebuildProjections } from "../reconcile/rebuild.ts";
import { type Context, EXIT, fromDb } from "./context.ts";

/** Exit 1 when projections differ and were not repaired (a health check can alert on it). */
export async function rebuild(context: Context, { write }: { write: boolean }): Promise<number> {
  const started = performance.now();
  const report = await fromDb(context, rebuildProjections(context.db(), context.sql(), { write }));
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  context.io.out(
    `checked ${report.checked} notifications in ${seconds}s: ${report.differed} differed from the log${write && report.differed ? " (repaired)" : ""}`,
  );
  if (report.examples.length) context.io.out(`examples: ${report.examples.slice(0, 10).join(", ")}`);
  return report.differed > 0 && !write ? EXIT.problem : EXIT.ok;
}
