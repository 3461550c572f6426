// Once per test run: a freshly migrated template database that every test file clones.
import { spawnSync } from "node:child_process";
import { databaseUrl, TEMPLATE_DATABASE, withAdminClient } from "@mailstate/test-support";

export default async function setup(): Promise<void> {
  await withAdminClient(async (client) => {
    await client.query(`DROP DATABASE IF EXISTS "${TEMPLATE_DATABASE}" WITH (FORCE)`);
    await client.query(`CREATE DATABASE "${TEMPLATE_DATABASE}"`);
  });
  const migrate = spawnSync("pnpm", ["--silent", "--filter", "@mailstate/db", "migrate"], {
    env: { ...process.env, DATABASE_URL: databaseUrl(TEMPLATE_DATABASE) },
    encoding: "utf8",
  });
  if (migrate.status !== 0) {
    throw new Error(`migrating the test template database failed:\n${migrate.stdout}\n${migrate.stderr}`);
  }
}
