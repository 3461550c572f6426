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
 * An entry point's env, loaded once at boot (`load` is the app's loadApiEnv or loadWorkerEnv): a
 * variable it refuses ends the process with exit 78 (EX_CONFIG), printed after `label` ("mailstate
 * api") with every refused variable named. Any other error is a bug, and is thrown.
 */
export function loadEnvOrExit<T>(load: () => T, label: string): T {
  try {
    return load();
  } catch (error) {
    if (!(error instanceof EnvError)) throw error;
    console.error(`${label}: ${error.message}`);
    process.exit(78); // EX_CONFIG
  }
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

/** `host:port,host:port`: the seed nodes of a Redis Cluster (IPv6 hosts in brackets). */
const clusterNodes = z.string().transform((value, ctx) => {
  const nodes: { host: string; port: number }[] = [];
  for (const part of value.split(/[\s,]+/).filter(Boolean)) {
    const match = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(part);
    const port = Number(match?.[2]);
    if (!match?.[1] || !(port >= 1 && port <= 65_535)) {
      ctx.addIssue({ code: "custom", message: `must be host:port separated by commas; "${part}" is not host:port` });
      return z.NEVER;
    }
    nodes.push({ host: match[1].replace(/^\[|\]$/g, ""), port });
  }
  if (nodes.length === 0) {
    ctx.addIssue({ code: "custom", message: "must name at least one host:port" });
    return z.NEVER;
  }
  return nodes;
});

/**
 * Whose bounces and complaints suppress whose sends: `global`, one list for every tenant (as
 * Resend's own suppression list is account-wide), or `tenant`, a list per tenant.
 */
export const SUPPRESSION_SCOPES = ["global", "tenant"] as const;
export type SuppressionScope = (typeof SUPPRESSION_SCOPES)[number];

/** QUEUE_PREFIX's default, hash-tagged so every key of every queue lands in one Redis Cluster slot. */
const DEFAULT_QUEUE_PREFIX = "{mailstate}";

/** Variables every process reads. */
export const commonEnv = {
  NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  DATABASE_URL: postgresUrl.default("postgresql://postgres@127.0.0.1:5432/mailstate"),
  DATABASE_POOL_SIZE: integer(1, 200).default(10),
  REDIS_URL: redisUrl.default("redis://127.0.0.1:6379"),
  /** Seed nodes of a Redis Cluster: set, every process connects through ioredis's Cluster client. */
  REDIS_CLUSTER_NODES: clusterNodes.optional(),
  /** Inbox queues, each under a hash tag of its own, so that on a cluster they spread over the nodes. */
  INBOX_SHARDS: integer(1, 64).default(1),
  QUEUE_PREFIX: z
    .string()
    .regex(/^\{[^{}:]+\}$|^[^{}:]+$/, "must be a name, optionally hash-tagged like {mailstate}, without ':'")
    .default(DEFAULT_QUEUE_PREFIX),
  /** The API checks and edits suppressions by it; the worker writes bounces and complaints by it. */
  SUPPRESSION_SCOPE: z.enum(SUPPRESSION_SCOPES, { error: "must be global or tenant" }).default("global"),
};

/** A TCP port, 1–65535, in plain decimal digits. */
export const port = (fallback: number) => integer(1, 65_535, "a port number").default(fallback);

/** How mailstate mirrors Resend's suppression list: from webhooks only, both ways, or not at all. */
export const SUPPRESSION_SYNC_MODES = ["inbound", "both", "off"] as const;
export type SuppressionSyncMode = (typeof SUPPRESSION_SYNC_MODES)[number];

/**
 * Variables of reconciling against Resend's API (the sweeper, the webhook delivery audit, the
 * suppression and audience sync), read by the worker and the API. Without RESEND_API_KEY nothing
 * calls Resend; inbound suppression sync still works from webhooks alone.
 */
export const resendEnv = {
  RESEND_API_KEY: z.string().regex(/^\S+$/, "must be one API key, without spaces").optional(),
  RESEND_BASE_URL: z.url({ error: "must be a URL, like https://api.resend.com" }).optional(),
  /** Calls a second to Resend's API, across all workers (Resend's default team limit is 2). */
  RESEND_API_RPS: integer(1, 100, "a whole number of calls a second").default(2),
  /** A call to Resend's API that has not answered by then is retried with backoff. */
  RESEND_API_TIMEOUT_MS: integer(100, 120_000).default(10_000),
  /** How often the sweeper runs. */
  SWEEPER_INTERVAL_MS: integer(1_000, 86_400_000).default(300_000),
  /** A notification whose last event is older than this, in a state that is not final, is asked about. */
  SWEEPER_STALE_AFTER_MS: integer(1_000, 30 * 86_400_000).default(21_600_000),
  /** The webhook endpoint whose failed deliveries the sweeper replays. */
  RESEND_WEBHOOK_ID: z.string().regex(/^\S+$/, "must be a webhook id, without spaces").optional(),
  RESEND_SUPPRESSION_SYNC: z.enum(SUPPRESSION_SYNC_MODES, { error: "must be inbound, both or off" }).optional(),
  /** The audience whose contacts are unsubscribed after a hard bounce or a complaint. */
  RESEND_AUDIENCE_ID: z.string().regex(/^\S+$/, "must be an audience id, without spaces").optional(),
};

/** The parsed variables of `resendEnv`, before the defaults that depend on each other. */
export interface ResendEnvValues {
  RESEND_API_KEY?: string | undefined;
  RESEND_SUPPRESSION_SYNC?: SuppressionSyncMode | undefined;
  RESEND_WEBHOOK_ID?: string | undefined;
  RESEND_AUDIENCE_ID?: string | undefined;
}

/**
 * What needs an API key says so at start-up: `both`, the audit and the audience call Resend.
 * Add it to a schema with `.superRefine(requireResendKey)`.
 */
export function requireResendKey(env: ResendEnvValues, context: z.RefinementCtx): void {
  if (env.RESEND_API_KEY) return;
  const needs = (variable: string, what: string) =>
    context.addIssue({ code: "custom", path: [variable], message: `${what} needs RESEND_API_KEY` });
  if (env.RESEND_SUPPRESSION_SYNC === "both") needs("RESEND_SUPPRESSION_SYNC", "both (removing from Resend's list)");
  if (env.RESEND_WEBHOOK_ID) needs("RESEND_WEBHOOK_ID", "the webhook delivery audit");
  if (env.RESEND_AUDIENCE_ID) needs("RESEND_AUDIENCE_ID", "unsubscribing from the audience");
}

/** RESEND_SUPPRESSION_SYNC, defaulted: inbound when RESEND_API_KEY is set, off otherwise. */
export function suppressionSyncOf(env: ResendEnvValues): SuppressionSyncMode {
  return env.RESEND_SUPPRESSION_SYNC ?? (env.RESEND_API_KEY ? "inbound" : "off");
}

/**
 * Outbound webhooks, read by the API (at registration) and the worker (at every send): endpoint
 * URLs on loopback, private, link-local or unique-local addresses are refused unless this is true.
 */
export const outboundEnv = {
  OUTBOUND_ALLOW_PRIVATE: z
    .enum(["true", "false"], { error: "must be true or false" })
    .transform((value) => value === "true")
    .default(false),
};
