// Once per test run: a freshly migrated template database that every test file clones. Its name is
// unique to the run, so concurrent runs on one machine never drop each other's template.
import { spawnSync } from "node:child_process";
import { databaseUrl, withAdminClient } from "@mailstate/test-support";

export default async function setup(): Promise<() => Promise<void>> {
  const template = `mailstate_test_template_${process.pid}`;
  await withAdminClient(async (client) => {
    await client.query(`DROP DATABASE IF EXISTS "${template}" WITH (FORCE)`);
    await client.query(`CREATE DATABASE "${template}"`);
  });
  const migrate = spawnSync("pnpm", ["--silent", "--filter", "@mailstate/db", "migrate"], {
    env: { ...process.env, DATABASE_URL: databaseUrl(template) },
    encoding: "utf8",
  });
  if (migrate.status !== 0) {
    throw new Error(`migrating the test template database failed:\n${migrate.stdout}\n${migrate.stderr}`);
  }
  // Test workers are forked after this and inherit it.
  process.env.MAILSTATE_TEST_TEMPLATE = template;
  return async () => {
    await withAdminClient((client) => client.query(`DROP DATABASE IF EXISTS "${template}" WITH (FORCE)`));
  };
}
