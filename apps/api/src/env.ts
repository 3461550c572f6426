// The API's configuration, parsed once at boot; a bad value stops start-up naming the variable.
import { commonEnv, parseEnv, port } from "@mailstate/runtime";
import { z } from "zod";

const webhookSecrets = z
  .string({ error: "is required: the signing secret of the Resend webhook (whsec_…)" })
  .transform((value) => value.split(/[\s,]+/).filter(Boolean))
  .pipe(
    z
      .array(
        z
          .string()
          .regex(/^whsec_[A-Za-z0-9+/=]{16,}$/, "each secret must look like whsec_<base64>, as Resend shows it"),
      )
      .min(1, "is required: the signing secret of the Resend webhook (whsec_…)"),
  );

const list = z.string().transform((value) => value.split(/[\s,]+/).filter(Boolean));

export const apiEnvSchema = z.object({
  ...commonEnv,
  PORT: port(3000),
  HOST: z.string().default("0.0.0.0"),
  /** One or more secrets separated by spaces, for rotation: a webhook passes if any verifies it. */
  RESEND_WEBHOOK_SECRET: webhookSecrets,
  /** Bearer keys for /v1, separated by commas or spaces. */
  API_KEYS: list.pipe(z.array(z.string().min(16, "each API key needs 16 characters or more"))).default([]),
  OPS_USERNAME: z.string().min(1).default("ops"),
  OPS_PASSWORD: z.string().min(8, "needs 8 characters or more").optional(),
  WEBHOOK_BODY_LIMIT: z
    .string()
    .regex(/^\d+(b|kb|mb)?$/i, "must be a size like 256kb")
    .default("256kb"),
  WEBHOOK_ENQUEUE_TIMEOUT_MS: z.coerce.number().int().min(50).max(30_000).default(2_000),
});

export type ApiEnv = z.infer<typeof apiEnvSchema>;

export function loadApiEnv(source: NodeJS.ProcessEnv = process.env): ApiEnv {
  return parseEnv(apiEnvSchema, source);
}
