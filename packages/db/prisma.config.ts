// Prisma CLI configuration: the JS (wasm) schema engine over the pg driver adapter, so migrations
// run without Prisma's native binaries. The schema and migrations live in the repository's prisma/.
import path from "node:path";
import { PrismaPg } from "@prisma/adapter-pg";
import { defineConfig } from "prisma/config";

const connectionString = process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/mailstate";

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: path.join(import.meta.dirname, "..", "..", "prisma", "schema.prisma"),
  migrations: { path: path.join(import.meta.dirname, "..", "..", "prisma", "migrations") },
  adapter: async () => new PrismaPg({ connectionString, allowExitOnIdle: true }),
});
