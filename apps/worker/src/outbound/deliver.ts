// One attempt at one outbound webhook: the outbox row is loaded, signed (Standard Webhooks, with
// svix's own signer), POSTed, and the attempt recorded on the row, the endpoint's delivery log.
// A failure throws, and BullMQ retries with exponential backoff for about a day; an endpoint that
// has failed for OUTBOUND_DISABLE_AFTER_MS is disabled, with its pending messages.
import http from "node:http";
import https from "node:https";
import { isIP } from "node:net";
import { events, type OutgoingMessage, outbox, type SqlPool } from "@mailstate/db";
import { assertPublicUrl, type Logger, OutboundUrlError, publicLookup } from "@mailstate/runtime";
import { inSpan, tracingActive } from "@mailstate/tracing";
import { type Job, UnrecoverableError } from "bullmq";
import { Webhook } from "svix";
import type { WorkerMetrics } from "../metrics.ts";

/** How long an endpoint has to answer an attempt. */
const ATTEMPT_TIMEOUT_MS = 15_000;
/** What of an endpoint's answer is kept in the delivery log when it fails. */
const ERROR_BODY_CHARS = 200;

export interface WebhookDeliveryDeps {
  sql: SqlPool;
  logger: Logger;
  metrics: WorkerMetrics;
  /** OUTBOUND_ALLOW_PRIVATE. */
  allowPrivate: boolean;
  /** OUTBOUND_DISABLE_AFTER_MS: an endpoint failing this long is disabled. */
  disableAfterMs: number;
  /** Called once a message is delivered: the next one of its notification may go now. */
  onDelivered?: () => void;
  now?: () => Date;
}

/**
 * The Standard Webhooks headers, signed with every secret that signs now: the current one, and
 * during a rotation's overlap the previous one too (space-separated, as the scheme allows).
 */
function signatureHeaders(message: Pick<OutgoingMessage, "id" | "body" | "secrets">, at: Date) {
  const signature = message.secrets.map((secret) => new Webhook(secret).sign(message.id, at, message.body)).join(" ");
  return {
    "webhook-id": message.id,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1_000)),
    "webhook-signature": signature,
  };
}

interface AttemptResult {
  statusCode: number | null;
  error: string | null;
}

/** An attempt that got no answer: a refused address says so. */
function unanswered(error: Error): AttemptResult {
  return { statusCode: null, error: error instanceof OutboundUrlError ? `refused: ${error.message}` : error.message };
}

/** POST the body; resolves with the status code, or the error that kept it from answering. */
async function post(url: URL, body: string, headers: Record<string, string>, allowPrivate: boolean) {
  // A name is checked by the lookup the connection itself uses; an address never reaches a lookup.
  if (isIP(url.hostname.replace(/^\[(.*)\]$/, "$1"))) await assertPublicUrl(url.href, allowPrivate);
  const client = url.protocol === "https:" ? https : http;
  return new Promise<AttemptResult>((resolve) => {
    const request = client.request(
      url,
      {
        method: "POST",
        headers: {
          ...headers,
          "content-type": "application/json",
          "content-length": String(Buffer.byteLength(body)),
          "user-agent": "mailstate-webhooks",
        },
        lookup: publicLookup(allowPrivate),
        timeout: ATTEMPT_TIMEOUT_MS,
      },
      (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          if (text.length < ERROR_BODY_CHARS) text += chunk;
        });
        response.on("end", () => {
          const statusCode = response.statusCode ?? 0;
          const ok = statusCode >= 200 && statusCode < 300;
          resolve({ statusCode, error: ok ? null : `HTTP ${statusCode}: ${text.slice(0, ERROR_BODY_CHARS)}` });
        });
        response.on("error", (error) => resolve({ statusCode: response.statusCode ?? null, error: error.message }));
      },
    );
    request.on("timeout", () => request.destroy(new Error(`no answer within ${ATTEMPT_TIMEOUT_MS} ms`)));
    request.on("error", (error) => resolve(unanswered(error)));
    request.end(body);
  });
}

/** The traceparent of the event a state_changed message reports (`data.event.svixId`), when it has one. */
async function causeTraceparent(sql: SqlPool, body: string): Promise<string | null> {
  const svixId = (JSON.parse(body) as { data?: { event?: { svixId?: unknown } } }).data?.event?.svixId;
  return typeof svixId === "string" ? events.traceparentOf(sql, svixId).catch(() => null) : null;
}

export function createWebhookDelivery(deps: WebhookDeliveryDeps) {
  const { sql, logger, metrics, allowPrivate, disableAfterMs } = deps;
  const now = deps.now ?? (() => new Date());

  return async function deliver(messageId: string, job: Job): Promise<unknown> {
    const message = await outbox.outgoing(sql, messageId, now());
    // Its endpoint was deleted (and its log with it), or it went out already (a stalled job's rerun).
    if (!message) return { outcome: "gone" };
    if (message.status !== "pending") return { outcome: message.status };
    if (message.disabled) {
      await outbox.markFailed(sql, messageId, "endpoint disabled");
      return { outcome: "endpoint_disabled" };
    }
    const url = new URL(message.url);
    // With tracing on, the POST is a span in the trace of the webhook whose event caused the message
    // (its traceparent is read from the log only then).
    const parent = tracingActive() ? await causeTraceparent(sql, message.body) : null;
    const attempt = await inSpan(
      "deliver outbound webhook",
      () => ({
        attributes: { "mailstate.outbound_message_id": messageId, "mailstate.endpoint_id": message.endpointId },
        parent,
      }),
      () => post(url, message.body, signatureHeaders(message, now()), allowPrivate).catch(unanswered),
    );
    const ok = attempt.error === null;
    const { failingSince } = await outbox.recordAttempt(sql, {
      id: messageId,
      endpointId: message.endpointId,
      ok,
      ...attempt,
    });
    metrics.webhookDeliveries.inc({ outcome: ok ? "delivered" : "failed" });
    if (ok) {
      deps.onDelivered?.();
      return { outcome: "delivered", statusCode: attempt.statusCode };
    }
    if (failingSince && now().getTime() - failingSince.getTime() >= disableAfterMs) {
      const reason = `failing since ${failingSince.toISOString()} (last: ${attempt.error})`;
      if (await outbox.disableEndpoint(sql, message.endpointId, reason)) {
        metrics.webhookEndpointsDisabled.inc();
        logger.error(
          { endpointId: message.endpointId, url: url.origin, failingSince, lastError: attempt.error },
          `webhook endpoint disabled: every delivery failed for ${disableAfterMs} ms`,
        );
      }
      throw new UnrecoverableError(`endpoint ${message.endpointId} disabled: ${reason}`);
    }
    if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) {
      await outbox.markFailed(sql, messageId, attempt.error ?? "failed");
      throw new UnrecoverableError(`gave up on ${messageId}: ${attempt.error}`);
    }
    throw new Error(`webhook ${messageId} not delivered: ${attempt.error}`);
  };
}
