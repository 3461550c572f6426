// Env parsing shared by every process: one zod schema per app, one clear error naming the variable.
import { z } from "zod";

export class EnvError extends Error {
  constructor(readonly issues: { variable: string; message: string }[]) {
    super(`invalid environment:\n${issues.map((i) => `  ${i.variable}: ${i.message}`).join("\n")}`);
    this.name = "EnvError";
  }
}

export function parseEnv<S extends z.ZodObject>(schema: S, source: NodeJS.ProcessEnv = process.env): z.infer<S> {
  // Empty strings mean "unset" so that a blank line in .env falls back to the default.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== undefined && value !== ""));
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  throw new EnvError(
    result.error.issues.map((issue) => ({ variable: String(issue.path[0] ?? "(env)"), message: issue.message })),
  );
}

/**
 * A whole number written in plain decimal digits, from `min` to `max`. Not `z.coerce.number()`:
 * it reads `0x50` as 80 and `1e3` as 1000, so a typo would quietly configure something else.
 */
export const integer = (min: number, max: number, what = "a whole number") => {
  const message = `must be ${what} from ${min} to ${max}, in plain decimal digits`;
  return z
    .string()
    .regex(/^(0|[1-9]\d*)$/, { message, abort: true })
    .transform(Number)
    .pipe(z.int().min(min, message).max(max, message));
};

const postgresUrl = z.string().refine((value) => /^postgres(ql)?:\/\//.test(value), "must be a postgresql:// URL");
const redisUrl = z.string().refine((value) => /^rediss?:\/\//.test(value), "must be a redis:// or rediss:// URL");

/**
 * Whose bounces and complaints suppress whose sends: `global`, one list for every tenant (as
 * Resend's own suppression list is account-wide), or `tenant`, a list per tenant.
 */
export const SUPPRESSION_SCOPES = ["global", "tenant"] as const;
export type SuppressionScope = (typeof SUPPRESSION_SCOPES)[number];

/** Variables every process reads. */
export const commonEnv = {
  NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  DATABASE_URL: postgresUrl.default("postgresql://postgres@127.0.0.1:5432/mailstate"),
  DATABASE_POOL_SIZE: integer(1, 200).default(10),
  REDIS_URL: redisUrl.default("redis://127.0.0.1:6379"),
  QUEUE_PREFIX: z
    .string()
    .regex(/^\{[^{}:]+\}$|^[^{}:]+$/, "must be a name, optionally hash-tagged like {mailstate}, without ':'")
    .default("{mailstate}"),
  /** The API checks and edits suppressions by it; the worker writes bounces and complaints by it. */
  SUPPRESSION_SCOPE: z.enum(SUPPRESSION_SCOPES, { error: "must be global or tenant" }).default("global"),
};

/** A TCP port, 1–65535, in plain decimal digits. */
export const port = (fallback: number) => integer(1, 65_535, "a port number").default(fallback);
