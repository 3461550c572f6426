// One error type with a code enum; each code maps to one RFC 9457 problem response, here only.
import type { ServerResponse } from "node:http";
import type { ErrorRequestHandler } from "express";

export const PROBLEMS = {
  /** Missing or malformed svix-id / svix-timestamp / svix-signature headers. */
  webhook_headers_invalid: { status: 400, title: "Webhook headers missing or invalid" },
  /** svix-timestamp more than 5 minutes from now (replay protection). */
  webhook_timestamp_out_of_tolerance: { status: 400, title: "Webhook timestamp outside the tolerance" },
  /** No configured secret produced the signature. */
  webhook_signature_invalid: { status: 401, title: "Webhook signature does not verify" },
  /** Verified, but not a JSON object with a string `type`. */
  webhook_body_invalid: { status: 400, title: "Webhook body is not a Resend event" },
  /** Body larger than WEBHOOK_BODY_LIMIT. */
  payload_too_large: { status: 413, title: "Request body too large" },
  /** Redis could not take the job in time: the sender should retry. */
  queue_unavailable: { status: 503, title: "Queue unavailable, retry later" },
  /** PostgreSQL could not answer in time. */
  database_unavailable: { status: 503, title: "Database unavailable, retry later" },
  /** Missing, unknown or revoked API key; wrong credentials. */
  unauthorized: { status: 401, title: "Unauthorized" },
  /** A tenant's API key named another tenant (in the body or the query), or removed what every tenant obeys. */
  tenant_forbidden: { status: 403, title: "Not allowed for this API key's tenant" },
  /** The API key spent its requests per second and its burst reserve: wait for Retry-After. */
  rate_limited: { status: 429, title: "Too many requests for this API key" },
  /** Request body, query or params failed validation. */
  validation_failed: { status: 400, title: "Request is not valid" },
  /** Body is not valid JSON. */
  malformed_json: { status: 400, title: "Request body is not valid JSON" },
  /** Body sent in a charset or Content-Encoding the API does not read (e.g. `charset=latin1`, `br`). */
  unsupported_media_type: { status: 415, title: "Request body encoding not supported" },
  /** Body could not be read as sent: e.g. `Content-Encoding: gzip` on bytes that are not gzip, or cut short. */
  unreadable_body: { status: 400, title: "Request body could not be read" },
  /** The URL itself cannot be read: a path segment that is not valid percent-encoded UTF-8. */
  malformed_url: { status: 400, title: "Request URL could not be read" },
  /** The request URL is longer than MAX_URL_LENGTH. */
  uri_too_long: { status: 414, title: "Request URL too long" },
  /** A write to the ops pages from another site (Origin or Sec-Fetch-Site): refused against CSRF. */
  cross_site_request: { status: 403, title: "Cross-site request refused" },
  /** A Bull Board action outside the allow-list (add, edit data, empty, obliterate, …). */
  ops_action_forbidden: { status: 403, title: "This Bull Board action is not allowed" },
  /** Too many failed ops sign-ins from this address or for this user name: wait for Retry-After. */
  too_many_sign_in_attempts: { status: 429, title: "Too many failed sign-ins" },
  /** A webhook endpoint URL on a loopback, private, link-local or unspecified address (or not resolving), without OUTBOUND_ALLOW_PRIVATE. */
  endpoint_url_refused: { status: 422, title: "Webhook endpoint URL refused" },
  /** Cancelling a send calls Resend's API, and RESEND_API_KEY is not set. */
  resend_not_configured: { status: 501, title: "Resend's API is not configured" },
  /** Resend's API did not answer, or answered 429 or 5xx: retry later. */
  resend_unavailable: { status: 503, title: "Resend unavailable, retry later" },
  /** Resend's API refused RESEND_API_KEY (401, 403). */
  resend_refused: { status: 502, title: "Resend refused the API key" },
  not_found: { status: 404, title: "Not found" },
  /** The request contradicts what is already recorded. */
  conflict: { status: 409, title: "Conflict" },
  internal: { status: 500, title: "Internal error" },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemCode = keyof typeof PROBLEMS;

export class AppError extends Error {
  constructor(
    readonly code: ProblemCode,
    detail?: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail ?? PROBLEMS[code].title);
    this.name = "AppError";
  }
}

/**
 * Answer with a problem document. Written with node's own response methods, so the webhook route,
 * served before express, answers its problems exactly as every express route does.
 */
export function sendProblem(
  res: ServerResponse,
  code: ProblemCode,
  detail?: string,
  extra: Record<string, unknown> = {},
) {
  const { status, title } = PROBLEMS[code];
  const type = `https://mailstate.dev/problems/${code.replaceAll("_", "-")}`;
  sendJson(res, status, { type, title, status, detail, ...extra }, "application/problem+json");
}

/** A JSON answer with the headers express's `res.json()` writes, less its ETag: nobody revalidates a problem or a webhook's answer. */
export function sendJson(res: ServerResponse, status: number, body: unknown, mediaType = "application/json"): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": `${mediaType}; charset=utf-8`, "content-length": Buffer.byteLength(text) });
  res.end(text);
}

interface HttpError {
  type?: string;
  status?: number;
  statusCode?: number;
  expose?: boolean;
  message?: string;
}

/**
 * A client error raised below the routes (body-parser, the router), as a problem code; undefined
 * for anything else. body-parser marks its own with `expose` (http-errors); the router's
 * undecodable path parameter is a URIError with status 400 and no `expose`.
 */
export function clientProblem(error: unknown): ProblemCode | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const http = error as HttpError;
  const status = http.status ?? http.statusCode;
  if (typeof status !== "number" || status < 400 || status >= 500) return undefined;
  if (error instanceof URIError) return "malformed_url";
  if (http.expose !== true) return undefined;
  if (http.type === "entity.too.large" || status === 413) return "payload_too_large";
  if (http.type === "entity.parse.failed") return "malformed_json";
  if (status === 415) return "unsupported_media_type";
  // body-parser raises nothing else below 500: the body could not be read (bad gzip, aborted, wrong length).
  return "unreadable_body";
}

/** Details that replace the error's own message: the parser's would quote the body or the path. */
const CLIENT_DETAIL: Partial<Record<ProblemCode, string>> = {
  payload_too_large: PROBLEMS.payload_too_large.title,
  malformed_json: PROBLEMS.malformed_json.title,
  malformed_url: "a path segment is not valid percent-encoded UTF-8",
};

/** The one place errors become HTTP answers. */
export function problemHandler(logError: (error: unknown) => void): ErrorRequestHandler {
  return (error: unknown, _req, res, _next) => {
    // Answered already (the database deadline's 503): what the handler met afterwards is dropped.
    if (res.headersSent) return;
    if (error instanceof AppError) return sendProblem(res, error.code, error.message, error.extra);
    // The client's mistake, not ours: answered, and not logged as an error.
    const code = clientProblem(error);
    if (code) return sendProblem(res, code, CLIENT_DETAIL[code] ?? (error as HttpError).message);
    logError(error);
    return sendProblem(res, "internal");
  };
}
