// The one place a Prisma client is made: the pg driver adapter, no native engine.
import { PrismaPg } from "@prisma/adapter-pg";
import { type Prisma, PrismaClient } from "../generated/client/index.js";

export type Db = PrismaClient;
/** A client or the client of an open transaction: what every repository function takes. */
export type DbClient = PrismaClient | Prisma.TransactionClient;

export interface DbOptions {
  databaseUrl: string;
  /** Connections in this process's pool. */
  poolSize?: number;
  /** Fail a query that waits this long for a connection, rather than hang (ms). */
  connectionTimeoutMs?: number;
}

export function createDb({ databaseUrl, poolSize = 10, connectionTimeoutMs = 5_000 }: DbOptions): Db {
  const adapter = new PrismaPg({
    connectionString: databaseUrl,
    max: poolSize,
    connectionTimeoutMillis: connectionTimeoutMs,
  });
  return new PrismaClient({ adapter });
}

/** True when PostgreSQL answers a trivial query. */
export async function pingDb(db: Db): Promise<boolean> {
  try {
    await db.$queryRaw`SELECT 1`;
    return true;
  } catch {
    return false;
  }
}
