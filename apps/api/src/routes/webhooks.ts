// POST /webhooks/resend: read the raw body, verify the Svix signature, enqueue. Nothing else, and never PostgreSQL.
import { isUtf8 } from "node:buffer";
import { performance } from "node:perf_hooks";
import { addJob, jobIdFor, type Queues } from "@mailstate/queue";
import { type Logger, withTimeout } from "@mailstate/runtime";
import express, { type RequestHandler, Router } from "express";
import { z } from "zod";
import type { ApiEnv } from "../env.ts";
import type { ApiMetrics } from "../http/metrics.ts";
import { type ProblemCode, sendProblem } from "../http/problems.ts";
import { createWebhookVerifier, type VerifyFailureReason } from "../webhooks/verify.ts";

export const WEBHOOK_PATH = "/webhooks/resend";

/** What the route needs to know of an event; the rest is the worker's business, and unknown types are kept. */
const eventEnvelope = z.looseObject({ type: z.string().min(1) });

const REJECTIONS = {
  headers_missing: { problem: "webhook_headers_invalid", outcome: "headers_invalid" },
  timestamp_invalid: { problem: "webhook_headers_invalid", outcome: "headers_invalid" },
  timestamp_out_of_tolerance: { problem: "webhook_timestamp_out_of_tolerance", outcome: "timestamp_out_of_tolerance" },
  signature_invalid: { problem: "webhook_signature_invalid", outcome: "signature_invalid" },
} as const satisfies Record<VerifyFailureReason, { problem: ProblemCode; outcome: string }>;

const EMPTY = Buffer.alloc(0);

export interface WebhookDeps {
  env: Pick<ApiEnv, "RESEND_WEBHOOK_SECRET" | "WEBHOOK_BODY_LIMIT" | "WEBHOOK_ENQUEUE_TIMEOUT_MS">;
  queues: Queues;
  logger: Logger;
  metrics: ApiMetrics;
  /** The clock the timestamp tolerance is checked against. */
  now?: () => Date;
}

export function webhookRoutes({ env, queues, logger, metrics, now = () => new Date() }: WebhookDeps): Router {
  const verify = createWebhookVerifier(env.RESEND_WEBHOOK_SECRET);
  const log = logger.child({ route: WEBHOOK_PATH });
  // Any content type, no inflation: the bytes verified are the bytes Resend signed.
  const rawParser = express.raw({ type: () => true, limit: env.WEBHOOK_BODY_LIMIT, inflate: false });

  const readRawBody: RequestHandler = (req, res, next) => {
    rawParser(req, res, (error?: unknown) => {
      if (error === undefined) return next();
      const svixId = req.get("svix-id") ?? req.get("webhook-id");
      const type = (error as { type?: string }).type;
      if (type === "entity.too.large") {
        metrics.webhookOutcome("too_large");
        log.warn({ svixId, reason: "body_too_large" }, "webhook rejected");
        return sendProblem(res, "payload_too_large", `the body is over ${env.WEBHOOK_BODY_LIMIT}`);
      }
      // Aborted uploads, compressed bodies: nothing to verify.
      metrics.webhookOutcome("body_invalid");
      log.warn({ svixId, reason: type ?? "body_unreadable" }, "webhook rejected");
      return sendProblem(res, "webhook_body_invalid", "the body could not be read as sent");
    });
  };

  const ingest: RequestHandler = async (req, res) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : EMPTY;
    const verified = verify(raw, req.headers, now());
    if (!verified.ok) {
      const { problem, outcome } = REJECTIONS[verified.reason];
      metrics.webhookOutcome(outcome);
      // An unverified request is never logged beyond the reason and the svix-id.
      log.warn({ svixId: verified.svixId, reason: verified.reason }, "webhook rejected");
      return sendProblem(res, problem);
    }
    const { svixId } = verified;

    const event = parseEvent(raw);
    if (event === undefined) {
      metrics.webhookOutcome("body_invalid");
      log.warn({ svixId, reason: "body_invalid" }, "webhook rejected");
      return sendProblem(res, "webhook_body_invalid", "expected a JSON object with a string `type`");
    }

    const started = performance.now();
    try {
      await withTimeout(
        addJob(
          queues,
          "inbox.reconcile",
          { svixId, receivedAt: new Date().toISOString(), event },
          jobIdFor("event", svixId),
        ),
        env.WEBHOOK_ENQUEUE_TIMEOUT_MS,
        "enqueueing the webhook",
      );
    } catch (error) {
      // If the add lands after the timeout, Resend's retry carries the same svix-id and dedupes onto it.
      metrics.webhookOutcome("queue_unavailable");
      log.error({ svixId, type: event.type, err: errorMessage(error) }, "webhook not enqueued");
      res.set("Retry-After", "5");
      return sendProblem(res, "queue_unavailable");
    }
    metrics.enqueueSeconds((performance.now() - started) / 1_000);
    metrics.webhookOutcome("queued");
    log.info({ svixId, type: event.type }, "webhook queued");
    res.status(200).json({ status: "queued", svixId });
  };

  const router = Router();
  router.post(WEBHOOK_PATH, readRawBody, ingest);
  return router;
}

/** The verified body as an event object, or undefined when it is not JSON, not an object, or has no `type`. */
function parseEvent(raw: Buffer): z.infer<typeof eventEnvelope> | undefined {
  // JSON text is UTF-8 (RFC 8259); refusing anything else keeps the parsed text identical to the verified bytes.
  if (!isUtf8(raw)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(raw.toString("utf8"));
  } catch {
    return undefined;
  }
  const result = eventEnvelope.safeParse(json);
  return result.success ? result.data : undefined;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
