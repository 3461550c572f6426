// POST /webhooks/resend: read the raw body, verify the Svix signature, enqueue. Nothing else, and never PostgreSQL.
//
// Every email costs several webhooks, so this route is the API's hot path: the server hands
// `POST /webhooks/resend` to it before express (express's request setup and router cost more than
// the route's own work), and express routes here only the other spellings of the URL (a query
// string, a trailing slash). Either way it is the same handler, on node's request and response.
import { isUtf8 } from "node:buffer";
import type { IncomingMessage, ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import { createInboxWriter, type MemoryGuard, type Queues } from "@mailstate/queue";
import { type Logger, withTimeout } from "@mailstate/runtime";
import { annotateActiveSpan, currentTraceparent } from "@mailstate/tracing";
import { Router } from "express";
import getRawBody from "raw-body";
import type { ApiEnv } from "../env.ts";
import type { ApiMetrics } from "../http/metrics.ts";
import { type ProblemCode, sendJson, sendProblem } from "../http/problems.ts";
import { createWebhookVerifier, type VerifyFailureReason, type WebhookVerifier } from "../webhooks/verify.ts";

const WEBHOOK_PATH = "/webhooks/resend";

/** What the route needs to know of an event: a JSON object with a non-empty string `type`. The rest is the worker's business, and unknown types are kept. */
type EventEnvelope = Record<string, unknown> & { type: string };

const REJECTIONS = {
  headers_missing: { problem: "webhook_headers_invalid", outcome: "headers_invalid" },
  timestamp_invalid: { problem: "webhook_headers_invalid", outcome: "headers_invalid" },
  timestamp_out_of_tolerance: { problem: "webhook_timestamp_out_of_tolerance", outcome: "timestamp_out_of_tolerance" },
  signature_invalid: { problem: "webhook_signature_invalid", outcome: "signature_invalid" },
} as const satisfies Record<VerifyFailureReason, { problem: ProblemCode; outcome: string }>;

const EMPTY = Buffer.alloc(0);

export interface WebhookDeps {
  env: Pick<
    ApiEnv,
    | "RESEND_WEBHOOK_SECRET"
    | "WEBHOOK_BODY_LIMIT"
    | "WEBHOOK_ENQUEUE_TIMEOUT_MS"
    | "WEBHOOK_BATCH_WAIT_MS"
    | "WEBHOOK_BATCH_SIZE"
  >;
  queues: Queues;
  logger: Logger;
  metrics: ApiMetrics;
  /** Redis's memory against WEBHOOK_REDIS_MEMORY_MAX_PERCENT: past it, webhooks answer 503. */
  memory?: MemoryGuard;
  /** The clock the timestamp tolerance is checked against. */
  now?: () => Date;
}

/** Answers one webhook request, whatever happens: it never rejects. */
export type WebhookHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** The request the server hands to the webhook handler before express: exactly `POST /webhooks/resend`. */
export function isWebhookRequest(req: IncomingMessage): boolean {
  return req.url === WEBHOOK_PATH && req.method === "POST";
}

/** What answering a webhook needs, built once per handler. */
interface Ingest {
  env: WebhookDeps["env"];
  verify: WebhookVerifier;
  log: Logger;
  metrics: ApiMetrics;
  memory: MemoryGuard | undefined;
  now: () => Date;
  inbox: ReturnType<typeof createInboxWriter>;
}

/** A webhook whose signature verified and whose body reads as an event. */
interface Received {
  svixId: string;
  event: EventEnvelope;
}

/**
 * Step 1: read the raw body, verify its signature, parse it. Answers the event, or undefined once
 * the request has been answered with why not.
 */
async function receive(
  { env, verify, log, metrics, now }: Ingest,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<Received | undefined> {
  const body = await readRawBody(req, env.WEBHOOK_BODY_LIMIT);
  if (!body.ok) {
    const svixId = header(req, "svix-id") ?? header(req, "webhook-id");
    if (body.reason === "entity.too.large") {
      metrics.webhookOutcome("too_large");
      log.warn({ svixId, reason: "body_too_large" }, "webhook rejected");
      sendProblem(res, "payload_too_large", `the body is over ${env.WEBHOOK_BODY_LIMIT}`);
      return undefined;
    }
    // Aborted uploads, compressed bodies: nothing to verify.
    metrics.webhookOutcome("body_invalid");
    log.warn({ svixId, reason: body.reason }, "webhook rejected");
    sendProblem(res, "webhook_body_invalid", "the body could not be read as sent");
    return undefined;
  }
  const raw = body.raw;
  const verified = verify(raw, req.headers, now());
  if (!verified.ok) {
    const { problem, outcome } = REJECTIONS[verified.reason];
    metrics.webhookOutcome(outcome);
    // An unverified request is never logged beyond the reason and the svix-id.
    log.warn({ svixId: verified.svixId, reason: verified.reason }, "webhook rejected");
    sendProblem(res, problem);
    return undefined;
  }
  const { svixId } = verified;

  const event = parseEvent(raw);
  if (event === undefined) {
    metrics.webhookOutcome("body_invalid");
    log.warn({ svixId, reason: "body_invalid" }, "webhook rejected");
    sendProblem(res, "webhook_body_invalid", "expected a JSON object with a string `type`");
    return undefined;
  }
  return { svixId, event };
}

/** Step 2: into Redis, and answer once the job holding it is there (503 when Redis cannot take it). */
async function enqueue(
  { env, log, metrics, memory, inbox }: Ingest,
  res: ServerResponse,
  { svixId, event }: Received,
): Promise<void> {
  // Redis near its maxmemory: refused before it is full, so the worker keeps the room to drain it.
  const full = memory?.full();
  if (full) {
    metrics.webhookOutcome("queue_unavailable");
    log.warn({ svixId, type: event.type, reason: full }, "webhook not enqueued");
    res.setHeader("Retry-After", "5");
    return sendProblem(res, "queue_unavailable", full);
  }
  const started = performance.now();
  // With tracing on: what an operator searches by, on this request's span, and its traceparent,
  // carried with the event so that the worker's work on it joins this trace.
  annotateActiveSpan(() => ({
    "mailstate.svix_id": svixId,
    "mailstate.event_type": event.type,
    "mailstate.email_id": emailIdOf(event),
  }));
  const traceparent = currentTraceparent();
  try {
    await withTimeout(
      inbox.submit({ svixId, receivedAt: new Date().toISOString(), event, ...(traceparent ? { traceparent } : {}) }),
      env.WEBHOOK_ENQUEUE_TIMEOUT_MS,
      "enqueueing the webhook",
    );
  } catch (error) {
    // If the add lands after the timeout, Resend's retry carries the same svix-id and dedupes onto it.
    metrics.webhookOutcome("queue_unavailable");
    log.error({ svixId, type: event.type, err: errorMessage(error) }, "webhook not enqueued");
    res.setHeader("Retry-After", "5");
    return sendProblem(res, "queue_unavailable");
  }
  metrics.enqueueSeconds((performance.now() - started) / 1_000);
  metrics.webhookOutcome("queued");
  log.info({ svixId, type: event.type }, "webhook queued");
  sendJson(res, 200, { status: "queued", svixId });
}

export function createWebhookHandler({
  env,
  queues,
  logger,
  metrics,
  memory,
  now = () => new Date(),
}: WebhookDeps): WebhookHandler {
  const ingest: Ingest = {
    env,
    verify: createWebhookVerifier(env.RESEND_WEBHOOK_SECRET),
    log: logger.child({ route: WEBHOOK_PATH }),
    metrics,
    memory,
    now,
    // Webhooks that arrive within WEBHOOK_BATCH_WAIT_MS of each other (WEBHOOK_BATCH_SIZE go at once) go to Redis as one
    // job per inbox shard, and each request answers only once the job holding it is in Redis.
    inbox: createInboxWriter(queues, { maxWaitMs: env.WEBHOOK_BATCH_WAIT_MS, maxSize: env.WEBHOOK_BATCH_SIZE }),
  };
  return async (req, res) => {
    try {
      const received = await receive(ingest, req, res);
      if (received) await enqueue(ingest, res, received);
    } catch (error) {
      // What express's error handler would have done with it.
      logger.error({ err: error }, "unhandled error");
      if (!res.headersSent) sendProblem(res, "internal");
    }
  };
}

/** The express route: the spellings of the URL that the server's exact match leaves to express. */
export function webhookRoutes(handler: WebhookHandler): Router {
  const router = Router();
  router.post(WEBHOOK_PATH, (req, res) => handler(req, res));
  return router;
}

type RawBody = { ok: true; raw: Buffer } | { ok: false; reason: string };

/**
 * The body's bytes as sent, read as `express.raw({ inflate: false })` reads them (raw-body, the same
 * limit): the bytes verified are the bytes Resend signed, so a compressed body is refused, not inflated.
 * A refused body is read off to its end before the answer, so the connection stays usable.
 */
async function readRawBody(req: IncomingMessage, limit: string): Promise<RawBody> {
  const hasBody = req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"]) > 0;
  if (!hasBody) return { ok: true, raw: EMPTY };
  const encoding = (req.headers["content-encoding"] ?? "identity").toLowerCase();
  let reason = "encoding.unsupported";
  if (encoding === "identity") {
    try {
      return { ok: true, raw: await getRawBody(req, { length: req.headers["content-length"], limit }) };
    } catch (error) {
      reason = (error as { type?: string }).type ?? "body_unreadable";
    }
  }
  await readOff(req);
  return { ok: false, reason };
}

/** Until the request's remaining bytes are read and dropped (or its connection is gone). */
function readOff(req: IncomingMessage): Promise<void> {
  if (req.complete || req.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    req.once("end", resolve);
    req.once("close", resolve);
    req.resume();
  });
}

/** `data.email_id` of an event, when it has one (a span attribute: Resend's random id, never an address). */
function emailIdOf(event: EventEnvelope): string | undefined {
  const data = (event as { data?: unknown }).data;
  const emailId = typeof data === "object" && data !== null ? (data as { email_id?: unknown }).email_id : undefined;
  return typeof emailId === "string" ? emailId : undefined;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === "string" ? value : undefined;
}

/** The verified body as an event object, or undefined when it is not JSON, not an object, or has no `type`. */
function parseEvent(raw: Buffer): EventEnvelope | undefined {
  // JSON text is UTF-8 (RFC 8259); refusing anything else keeps the parsed text identical to the verified bytes.
  if (!isUtf8(raw)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(raw.toString("utf8"));
  } catch {
    return undefined;
  }
  // A plain check, not a schema: this runs once per webhook, and a schema's parse copies the object.
  if (typeof json !== "object" || json === null || Array.isArray(json)) return undefined;
  const { type } = json as { type?: unknown };
  return typeof type === "string" && type.length > 0 ? (json as EventEnvelope) : undefined;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
