// `pnpm rebuild [--write]`: fold every notification's log again and print how many projections differ.
import { createDb, createSqlPool } from "@mailstate/db";
import { loadWorkerEnv } from "../env.ts";
import { rebuildProjections } from "../reconcile/rebuild.ts";

const write = process.argv.includes("--write");
const env = loadWorkerEnv();
const db = createDb({ databaseUrl: env.DATABASE_URL, poolSize: 2 });
const sql = createSqlPool({ databaseUrl: env.DATABASE_URL, poolSize: 4 });
try {
  const started = performance.now();
  const report = await rebuildProjections(db, sql, { write });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `checked ${report.checked} notifications in ${seconds}s: ${report.differed} differed from the log${write && report.differed ? " (repaired)" : ""}`,
  );
  if (report.examples.length) console.log(`examples: ${report.examples.slice(0, 10).join(", ")}`);
  process.exitCode = report.differed > 0 && !write ? 1 : 0;
} finally {
  await db.$disconnect();
  await sql.end();
}
