// Once per test run: `pnpm build` (turbo's cache makes it quick when nothing changed), so the tests of
// the compiled apps (start, production) run what production runs; then a freshly migrated template
// database that every test file clones. Its name is unique to the run, so concurrent runs on one
// machine never drop each other's template.
import { spawnSync } from "node:child_process";
import { createMigratedDatabase, dropDatabase } from "@mailstate/test-support";

function build(): void {
  const run = spawnSync("pnpm", ["build", "--output-logs=errors-only"], { encoding: "utf8" });
  if (run.status !== 0) {
    throw new Error(`pnpm build failed (exit ${run.status ?? run.signal}):\n${run.stdout}\n${run.stderr}`);
  }
}

export default async function setup(): Promise<() => Promise<void>> {
  build();
  const template = `mailstate_test_template_${process.pid}`;
  await createMigratedDatabase(template);
  // Test workers are forked after this and inherit it.
  process.env.MAILSTATE_TEST_TEMPLATE = template;
  return () => dropDatabase(template);
}
