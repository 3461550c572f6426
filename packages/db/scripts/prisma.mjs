#!/usr/bin/env node
// Runs the Prisma CLI with what it needs on machines that cannot download Prisma's native engines:
// DATABASE_URL always set (or Prisma tries to fetch the native query engine) and long timers unref'd.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const cli = join(dirname(require.resolve("prisma/package.json")), "build", "index.js");

const rootEnvFile = join(here, "..", "..", "..", ".env");
if (existsSync(rootEnvFile)) process.loadEnvFile(rootEnvFile);

const env = { ...process.env };
env.DATABASE_URL ??= "postgresql://postgres@127.0.0.1:5432/mailstate";
env.PRISMA_HIDE_UPDATE_MESSAGE = "1";
env.CHECKPOINT_DISABLE = "1";
env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ""} --require ${join(here, "unref-long-timers.cjs")}`.trim();

if (process.argv[2] === "migrate") await ensureDatabaseExists(env.DATABASE_URL);

const result = spawnSync(process.execPath, [cli, ...process.argv.slice(2)], {
  cwd: join(here, ".."),
  env,
  stdio: "inherit",
});
process.exit(result.status ?? 1);

/** `migrate deploy` on a fresh server: create the database first, as `migrate dev` would. */
async function ensureDatabaseExists(url) {
  const { default: pg } = await import("pg");
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = "/postgres";
  const client = new pg.Client({ connectionString: admin.toString() });
  try {
    await client.connect();
    const found = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (found.rowCount === 0) {
      await client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
      console.log(`created database ${name}`);
    }
  } catch (error) {
    console.error(
      `mailstate db: cannot reach PostgreSQL at ${target.host} to check database ${name}: ${error.message}`,
    );
    process.exit(1);
  } finally {
    await client.end().catch(() => {});
  }
}
