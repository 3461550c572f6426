// The API's configuration, parsed once at boot; a bad value stops start-up naming the variable.
import { commonEnv, integer, outboundEnv, parseEnv, port, requireResendKey, resendEnv } from "@mailstate/runtime";
import express from "express";
import { Webhook } from "svix";
import { z } from "zod";

/** Whether svix can build a verifier from the secret: its base64 decoder is stricter than the regex. */
function svixAccepts(secret: string): boolean {
  try {
    new Webhook(secret);
    return true;
  } catch {
    return false;
  }
}

const webhookSecret = z
  .string()
  .regex(/^whsec_[A-Za-z0-9+/=]{16,}$/, {
    message: "each secret must look like whsec_<base64>, as Resend shows it",
    abort: true,
  })
  // The message never quotes the secret: it is printed at start-up.
  .refine(svixAccepts, "each secret's part after whsec_ must be valid base64 (svix cannot decode one of them)");

const webhookSecrets = z
  .string({ error: "is required: the signing secret of the Resend webhook (whsec_…)" })
  .transform((value) => value.split(/[\s,]+/).filter(Boolean))
  .pipe(z.array(webhookSecret).min(1, "is required: the signing secret of the Resend webhook (whsec_…)"));

const SIZE = /^(\d+)(b|kb|mb)?$/i;
const SIZE_UNITS = { b: 1, kb: 1024, mb: 1024 ** 2 } as const;

function sizeInBytes(value: string): number {
  const match = SIZE.exec(value);
  if (!match) return Number.NaN;
  const unit = (match[2] ?? "b").toLowerCase() as keyof typeof SIZE_UNITS;
  return Number(match[1]) * SIZE_UNITS[unit];
}

/** A body-parser size (`256kb`), read the way body-parser reads it (1kb = 1024 bytes). */
const bodyLimit = z
  .string()
  .regex(SIZE, { message: "must be a size like 256kb", abort: true })
  // 0 (or a few bytes) would answer 413 to every webhook Resend sends.
  .refine((value) => sizeInBytes(value) >= 1024, "must be at least 1kb, or every webhook is refused as too large");

/**
 * Which proxies' X-Forwarded-For to believe: `false` (none), a hop count, or addresses, CIDRs and
 * express's names (`loopback`, `linklocal`, `uniquelocal`). Checked by express's own compiler, so
 * what passes here is what `app.set("trust proxy", …)` accepts. `true` is refused: it believes
 * every client's X-Forwarded-For, so anyone could pick the address the login throttle counts.
 */
type TrustProxy = false | number | string[];

function trustProxyAccepted(value: TrustProxy): boolean {
  try {
    express().set("trust proxy", value);
    return true;
  } catch {
    return false;
  }
}

const trustProxy = z
  .string()
  .transform((value, ctx): TrustProxy => {
    const trimmed = value.trim().toLowerCase();
    if (trimmed === "false" || trimmed === "none") return false;
    if (trimmed === "true") {
      ctx.addIssue({
        code: "custom",
        message: "true would trust any client's X-Forwarded-For; give a hop count (1) or the proxies' addresses",
      });
      return z.NEVER;
    }
    if (/^\d+$/.test(trimmed)) return Number(trimmed);
    return trimmed
      .split(",")
      .map((part) => part.trim())
      .filter(Boolean);
  })
  .refine(
    (value) => value === false || typeof value === "number" || (value.length > 0 && trustProxyAccepted(value)),
    "must be a hop count (1), or addresses/CIDRs/loopback, linklocal, uniquelocal separated by commas",
  );

const list = z.string().transform((value) => value.split(/[\s,]+/).filter(Boolean));

const apiEnvSchema = z
  .object({
    ...commonEnv,
    PORT: port(3000),
    HOST: z.string().default("0.0.0.0"),
    /** One or more secrets separated by spaces, for rotation: a webhook passes if any verifies it. */
    RESEND_WEBHOOK_SECRET: webhookSecrets,
    /** Admin bearer keys for /v1 (every tenant), separated by commas or spaces; tenants' keys live in api_keys. */
    API_KEYS: list.pipe(z.array(z.string().min(16, "each API key needs 16 characters or more"))).default([]),
    OPS_USERNAME: z
      .string()
      .min(1)
      .refine((value) => !value.includes(":"), "must not contain ':' (basic auth ends the username at the first ':')")
      .default("ops"),
    OPS_PASSWORD: z.string().min(8, "needs 8 characters or more").optional(),
    WEBHOOK_BODY_LIMIT: bodyLimit.default("256kb"),
    /**
     * The longest a request that needs PostgreSQL takes: its answer, or 503 with Retry-After. A lock
     * is waited for half of it at most (lock_timeout), a statement or a free connection all of it.
     */
    DATABASE_TIMEOUT_MS: integer(500, 60_000).default(5_000),
    WEBHOOK_ENQUEUE_TIMEOUT_MS: integer(50, 30_000).default(2_000),
    /**
     * How long a webhook waits for others to share its inbox job (0: only those of the same moment),
     * and how many make a batch that goes at once. Fewer, fuller jobs are what makes a webhook cheap
     * for the worker, Redis and PostgreSQL; a full batch does not wait, so a burst is not slowed.
     */
    WEBHOOK_BATCH_WAIT_MS: integer(0, 100).default(50),
    WEBHOOK_BATCH_SIZE: integer(1, 64).default(32),
    /**
     * Webhooks answer 503 (Retry-After) while Redis holds this share of its maxmemory or more (100:
     * only Redis's own OOM stops them). Under noeviction a full Redis refuses the worker's writes
     * too, so the room left is what lets it drain and memory free.
     */
    WEBHOOK_REDIS_MEMORY_MAX_PERCENT: integer(50, 100).default(90),
    /**
     * Slow clients: a request's headers must arrive within HTTP_HEADERS_TIMEOUT_MS and the whole
     * request within HTTP_REQUEST_TIMEOUT_MS (else 408 and the connection closed); a kept-alive
     * connection idle for HTTP_KEEP_ALIVE_TIMEOUT_MS is closed (behind a load balancer, set it above
     * the balancer's idle timeout).
     */
    HTTP_HEADERS_TIMEOUT_MS: integer(1_000, 300_000).default(10_000),
    HTTP_REQUEST_TIMEOUT_MS: integer(1_000, 600_000).default(30_000),
    HTTP_KEEP_ALIVE_TIMEOUT_MS: integer(1_000, 600_000).default(5_000),
    /** Longer request URLs answer 414 before any other work. Node refuses headers over 16 KB by itself. */
    MAX_URL_LENGTH: integer(256, 65_536).default(8_192),
    TRUST_PROXY: trustProxy.default(false),
    /**
     * Failed ops sign-ins in a row per (client IP, user name), and per client IP whatever the names,
     * within the window; the next one from there answers 429. Another address is not held back.
     */
    OPS_LOGIN_MAX_FAILURES: integer(1, 1_000).default(10),
    OPS_LOGIN_MAX_FAILURES_PER_IP: integer(1, 100_000).default(100),
    OPS_LOGIN_WINDOW_SECONDS: integer(1, 86_400).default(900),
    /**
     * Requests per second per tenant key (0: no limit), and the reserve beyond them, refilled every
     * minute: a campaign recording 1,000 sends a second one by one stays under both. A batch is one request.
     */
    API_RATE_LIMIT_RPS: integer(0, 1_000_000).default(1_000),
    API_RATE_LIMIT_BURST: integer(0, 1_000_000).default(10_000),
    /** The same for each admin key of API_KEYS, the owner's own app: 0, no limit, unless set. */
    API_RATE_LIMIT_ADMIN_RPS: integer(0, 1_000_000).default(0),
    /**
     * RESEND_SUPPRESSION_SYNC=both: removing (or adding) a suppression by hand does the same on
     * Resend's list; cancelling a scheduled send calls Resend with it.
     */
    RESEND_API_KEY: resendEnv.RESEND_API_KEY,
    RESEND_SUPPRESSION_SYNC: resendEnv.RESEND_SUPPRESSION_SYNC,
    /**
     * Where the support pages link an event's trace id, `{traceId}` replaced (e.g.
     * https://jaeger.example/trace/{traceId}); unset: the id is shown, not linked.
     */
    TRACE_URL_TEMPLATE: z
      .url({ protocol: /^https?$/, error: "must be an http(s) URL with {traceId} in it" })
      .refine((value) => value.includes("{traceId}"), "must contain {traceId}, where the trace id goes")
      .optional(),
    /** POST /v1/notifications/:id/cancel calls Resend's emails.cancel: where, and how long it waits. */
    RESEND_BASE_URL: resendEnv.RESEND_BASE_URL,
    RESEND_API_TIMEOUT_MS: resendEnv.RESEND_API_TIMEOUT_MS,
    ...outboundEnv,
  })
  .superRefine(requireResendKey);

export type ApiEnv = z.infer<typeof apiEnvSchema>;

export function loadApiEnv(source: NodeJS.ProcessEnv = process.env): ApiEnv {
  return parseEnv(apiEnvSchema, source);
}
