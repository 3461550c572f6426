// The stand-in's configuration when it runs on its own (`pnpm --filter @mailstate/resend-standin start`).
import { integer, parseEnv, port } from "@mailstate/runtime";
import { z } from "zod";
import type { WebhookRates } from "./lifecycle.ts";
import type { StandinOptions } from "./options.ts";

const rate = z.coerce.number().min(0, "must be between 0 and 1").max(1, "must be between 0 and 1").optional();

const RATE_VARIABLES = {
  bounce: "RESEND_STANDIN_BOUNCE_RATE",
  softBounce: "RESEND_STANDIN_SOFT_BOUNCE_RATE",
  complaint: "RESEND_STANDIN_COMPLAINT_RATE",
  fail: "RESEND_STANDIN_FAIL_RATE",
  pending: "RESEND_STANDIN_PENDING_RATE",
  delay: "RESEND_STANDIN_DELAY_RATE",
  open: "RESEND_STANDIN_OPEN_RATE",
  click: "RESEND_STANDIN_CLICK_RATE",
} as const satisfies Record<keyof WebhookRates, string>;

const standinEnvSchema = z
  .object({
    RESEND_STANDIN_PORT: port(3100),
    RESEND_STANDIN_HOST: z.string().default("127.0.0.1"),
    /** When set, only this bearer key is accepted. */
    RESEND_STANDIN_API_KEY: z.string().optional(),
    /** Where to post webhooks, e.g. http://127.0.0.1:3000/webhooks/resend; unset → no webhooks. */
    RESEND_STANDIN_WEBHOOK_URL: z.url().optional(),
    /** Signs the webhooks; the first of several (rotation) is used. */
    RESEND_WEBHOOK_SECRET: z
      .string()
      .transform((value) => value.split(/[\s,]+/).find(Boolean) ?? "")
      .pipe(z.string().regex(/^whsec_[A-Za-z0-9+/=]{16,}$/, "must look like whsec_<base64>"))
      .optional(),
    RESEND_STANDIN_DUPLICATE_RATE: rate,
    /** Fraction of webhooks lost: logged as failed deliveries in the endpoint's log, never posted. */
    RESEND_STANDIN_LOSS_RATE: rate,
    /** The webhook endpoint id whose delivery log GET /webhooks/:id/events serves. */
    RESEND_STANDIN_WEBHOOK_ID: z.string().min(1).optional(),
    /** Post suppression.added / suppression.removed when the account's list changes. */
    RESEND_STANDIN_SUPPRESSION_EVENTS: z
      .enum(["true", "false"], { error: "must be true or false" })
      .transform((value) => value === "true")
      .optional(),
    RESEND_STANDIN_MAX_DELAY_MS: integer(0, 600_000).optional(),
    RESEND_STANDIN_LIFECYCLE_MS: integer(10, 3_600_000).optional(),
    RESEND_STANDIN_SEED: integer(0, 4_294_967_295).optional(),
    RESEND_STANDIN_BOUNCE_RATE: rate,
    RESEND_STANDIN_SOFT_BOUNCE_RATE: rate,
    RESEND_STANDIN_COMPLAINT_RATE: rate,
    RESEND_STANDIN_FAIL_RATE: rate,
    RESEND_STANDIN_PENDING_RATE: rate,
    RESEND_STANDIN_DELAY_RATE: rate,
    RESEND_STANDIN_OPEN_RATE: rate,
    RESEND_STANDIN_CLICK_RATE: rate,
  })
  .refine((env) => !env.RESEND_STANDIN_WEBHOOK_URL || env.RESEND_WEBHOOK_SECRET, {
    path: ["RESEND_WEBHOOK_SECRET"],
    error: "is required when RESEND_STANDIN_WEBHOOK_URL is set: the secret the webhooks are signed with",
  });

/** The options `createResendStandin` takes, from the environment; throws EnvError naming the variable. */
export function standinOptionsFromEnv(source: NodeJS.ProcessEnv = process.env): StandinOptions {
  const env = parseEnv(standinEnvSchema, source);
  const rates: Partial<WebhookRates> = {};
  for (const [key, variable] of Object.entries(RATE_VARIABLES) as [
    keyof WebhookRates,
    (typeof RATE_VARIABLES)[keyof WebhookRates],
  ][]) {
    const value = env[variable];
    if (value !== undefined) rates[key] = value;
  }
  const url = env.RESEND_STANDIN_WEBHOOK_URL;
  const secret = env.RESEND_WEBHOOK_SECRET;
  return {
    port: env.RESEND_STANDIN_PORT,
    host: env.RESEND_STANDIN_HOST,
    ...(env.RESEND_STANDIN_API_KEY ? { apiKey: env.RESEND_STANDIN_API_KEY } : {}),
    ...(env.RESEND_STANDIN_WEBHOOK_ID ? { webhookId: env.RESEND_STANDIN_WEBHOOK_ID } : {}),
    ...(env.RESEND_STANDIN_SUPPRESSION_EVENTS ? { suppressionEvents: true } : {}),
    ...(url && secret
      ? {
          webhook: {
            url,
            secret,
            rates,
            ...(env.RESEND_STANDIN_DUPLICATE_RATE === undefined
              ? {}
              : { duplicateRate: env.RESEND_STANDIN_DUPLICATE_RATE }),
            ...(env.RESEND_STANDIN_LOSS_RATE === undefined ? {} : { lossRate: env.RESEND_STANDIN_LOSS_RATE }),
            ...(env.RESEND_STANDIN_MAX_DELAY_MS === undefined ? {} : { maxDelayMs: env.RESEND_STANDIN_MAX_DELAY_MS }),
            ...(env.RESEND_STANDIN_LIFECYCLE_MS === undefined ? {} : { lifecycleMs: env.RESEND_STANDIN_LIFECYCLE_MS }),
            ...(env.RESEND_STANDIN_SEED === undefined ? {} : { seed: env.RESEND_STANDIN_SEED }),
          },
        }
      : {}),
  };
}
