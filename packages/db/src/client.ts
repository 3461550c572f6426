// The one place a Prisma client is made: the pg driver adapter, no native engine.
import { withTimeout } from "@mailstate/runtime";
import { PrismaPg } from "@prisma/adapter-pg";
import { type Prisma, PrismaClient } from "../generated/client/index.js";
import { type ConnectionLimits, connectionSettings } from "./connection.ts";

export type Db = PrismaClient;
/** A client or the client of an open transaction: what every repository function takes. */
export type DbClient = PrismaClient | Prisma.TransactionClient;

export interface DbOptions extends ConnectionLimits {
  databaseUrl: string;
  /** Connections in this process's pool. */
  poolSize?: number;
}

export function createDb({ databaseUrl, poolSize = 10, ...limits }: DbOptions): Db {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: poolSize, ...connectionSettings(limits) });
  return new PrismaClient({ adapter });
}

/** True when PostgreSQL answers a trivial query within the bound; false when it fails or stalls. */
export async function pingDb(db: Db, timeoutMs = 1_000): Promise<boolean> {
  try {
    await withTimeout(db.$queryRaw`SELECT 1`, timeoutMs, "a database ping");
    return true;
  } catch {
    return false;
  }
}
