// What every ops command runs on: the env, and PostgreSQL and Redis connections opened on first use.
import { createDb, createSqlPool, type Db, isDatabaseUnavailable, type SqlPool } from "@mailstate/db";
import { createQueues, createRedis, type Queues, type RedisClient } from "@mailstate/queue";
import { commonEnv, parseEnv, requireResendKey, resendEnv } from "@mailstate/runtime";
import { z } from "zod";
import { workerEnvFields } from "../env.ts";

/** The worker's own rules apply when a command reconciles events (dead-letter retry, reprocess). */
const cliEnvSchema = z
  .object({
    ...commonEnv,
    ...workerEnvFields.pick({
      SOFT_BOUNCE_THRESHOLD: true,
      PARK_UNTAGGED: true,
      PARK_MAX_EMAILS: true,
      // `retention` runs the worker's pass; `rebuild` and `stats` know where retention stops.
      RETENTION_DAYS: true,
    }).shape,
    // `sweep` asks Resend as the worker does; removing a suppression mirrors it on Resend's list (both).
    ...resendEnv,
  })
  .superRefine(requireResendKey);
export type CliEnv = z.infer<typeof cliEnvSchema>;

/** Where a command writes: stdout for results, stderr for errors and progress. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
}

/** A failure with its exit code (sysexits): 64 usage, 69 a service unreachable, 1 anything else. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = "CliError";
  }
}

export const EXIT = { ok: 0, problem: 1, usage: 64, unavailable: 69, config: 78 } as const;

export interface Context {
  env: CliEnv;
  io: Io;
  db(): Db;
  sql(): SqlPool;
  queues(): Promise<Queues>;
  /** The connection the queues run on (one Redis or the cluster), once queues() opened it. */
  redis(): Promise<RedisClient>;
  close(): Promise<void>;
}

export function createContext(env: CliEnv, io: Io): Context {
  let db: Db | undefined;
  let sql: SqlPool | undefined;
  let redis: RedisClient | undefined;
  let queues: Queues | undefined;
  return {
    env,
    io,
    db() {
      db ??= createDb({ databaseUrl: env.DATABASE_URL, poolSize: 2 });
      return db;
    },
    sql() {
      sql ??= createSqlPool({ databaseUrl: env.DATABASE_URL, poolSize: 4 });
      return sql;
    },
    async queues() {
      if (queues) return queues;
      // A command answers or fails within seconds: no reconnecting forever, no offline queue.
      redis = createRedis(env, "producer", { lazyConnect: true, retryStrategy: () => null });
      redis.on("error", () => {});
      try {
        await redis.connect();
      } catch (error) {
        throw new CliError(
          `Redis at ${redactUrl(env.REDIS_URL)} is unreachable: ${messageOf(error)}`,
          EXIT.unavailable,
        );
      }
      queues = createQueues(redis, env.QUEUE_PREFIX, {}, { inboxShards: env.INBOX_SHARDS });
      return queues;
    },
    async redis() {
      await this.queues();
      if (!redis) throw new CliError("Redis is not connected", EXIT.unavailable);
      return redis;
    },
    async close() {
      await queues?.close().catch(() => {});
      redis?.disconnect();
      await db?.$disconnect().catch(() => {});
      await sql?.end().catch(() => {});
    },
  };
}

/** Runs a PostgreSQL query, turning an unreachable server (as @mailstate/db decides it) into exit 69 with a clear message. */
export async function fromDb<T>(context: Context, query: Promise<T>): Promise<T> {
  try {
    return await query;
  } catch (error) {
    if (isDatabaseUnavailable(error))
      throw new CliError(
        `PostgreSQL at ${redactUrl(context.env.DATABASE_URL)} is unreachable: ${messageOf(error)}`,
        EXIT.unavailable,
      );
    throw error;
  }
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message.split("\n").filter(Boolean).at(-1) || error.name : String(error);
}

/** The URL without its password, for messages. */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(invalid url)";
  }
}

export function parseEnvOrThrow(source: NodeJS.ProcessEnv): CliEnv {
  return parseEnv(cliEnvSchema, source);
}
