// What counts as "PostgreSQL unavailable" (HTTP 503, CLI exit 69), on real servers: the failures of a
// connection count on both clients; an error in the SQL itself never does.
import { randomUUID } from "node:crypto";
import { createTestDatabase, databaseUrl, freePort, type TestDatabase } from "@mailstate/test-support";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb } from "./client.ts";
import { isDatabaseUnavailable } from "./errors.ts";

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase("errors");
});
afterAll(async () => {
  await database?.drop();
});

/** The error of one query through each client, Prisma's model API and plain node-postgres. */
async function failures(url: string, sql = "SELECT 1"): Promise<{ prisma: unknown; pg: unknown }> {
  const db = createDb({ databaseUrl: url, poolSize: 1 });
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  try {
    const [prisma, plain] = await Promise.all([
      db.$queryRawUnsafe(sql).then(
        () => undefined,
        (error: unknown) => error,
      ),
      pool.query(sql).then(
        () => undefined,
        (error: unknown) => error,
      ),
    ]);
    return { prisma, pg: plain };
  } finally {
    await db.$disconnect().catch(() => {});
    await pool.end().catch(() => {});
  }
}

describe("isDatabaseUnavailable", () => {
  it("input: no server on the port → unavailable, on both clients", async () => {
    const { prisma, pg: plain } = await failures(`postgresql://postgres@127.0.0.1:${await freePort()}/x`);
    expect(plain).toMatchObject({ code: "ECONNREFUSED" });
    expect([isDatabaseUnavailable(prisma), isDatabaseUnavailable(plain)]).toEqual([true, true]);
  });

  it("input: a database that does not exist (3D000) → unavailable, on both clients", async () => {
    const { prisma, pg: plain } = await failures(databaseUrl(`missing_${randomUUID().replaceAll("-", "")}`));
    expect(plain).toMatchObject({ code: "3D000" });
    expect([isDatabaseUnavailable(prisma), isDatabaseUnavailable(plain)]).toEqual([true, true]);
  });

  it("input: a role the server refuses (28000) → unavailable, on both clients", async () => {
    const url = new URL(database.url);
    url.username = `nobody_${randomUUID().replaceAll("-", "")}`;
    const { prisma, pg: plain } = await failures(url.toString());
    expect(plain).toMatchObject({ code: "28000" });
    expect([isDatabaseUnavailable(prisma), isDatabaseUnavailable(plain)]).toEqual([true, true]);
  });

  it.each([
    ["a table that does not exist", "SELECT * FROM no_such_table", "42P01"],
    ["a syntax error", "SELEC 1", "42601"],
    ["a division by zero", "SELECT 1 / 0", "22012"],
  ])("input: %s, on a reachable server → not unavailable, on both clients", async (_, sql, code) => {
    const { prisma, pg: plain } = await failures(database.url, sql);
    expect(plain).toMatchObject({ code });
    expect(prisma).toBeInstanceOf(Error);
    expect([isDatabaseUnavailable(prisma), isDatabaseUnavailable(plain)]).toEqual([false, false]);
  });

  it("input: not an error at all → not unavailable", () => {
    expect(isDatabaseUnavailable(undefined)).toBe(false);
    expect(isDatabaseUnavailable("ECONNREFUSED")).toBe(false);
  });
});
