// One error type with a code enum; each code maps to one RFC 9457 problem response, here only.
import type { ErrorRequestHandler, Response } from "express";

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
  /** Missing or wrong API key / credentials. */
  unauthorized: { status: 401, title: "Unauthorized" },
  /** Request body, query or params failed validation. */
  validation_failed: { status: 400, title: "Request is not valid" },
  /** Body is not valid JSON. */
  malformed_json: { status: 400, title: "Request body is not valid JSON" },
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

export function sendProblem(res: Response, code: ProblemCode, detail?: string, extra: Record<string, unknown> = {}) {
  const { status, title } = PROBLEMS[code];
  res
    .status(status)
    .type("application/problem+json")
    .json({ type: `https://mailstate.dev/problems/${code.replaceAll("_", "-")}`, title, status, detail, ...extra });
}

interface BodyParserError {
  type?: string;
  status?: number;
}

/** The one place errors become HTTP answers. */
export function problemHandler(logError: (error: unknown) => void): ErrorRequestHandler {
  return (error: unknown, _req, res, _next) => {
    if (error instanceof AppError) return sendProblem(res, error.code, error.message, error.extra);
    const parserError = error as BodyParserError;
    if (parserError?.type === "entity.too.large") return sendProblem(res, "payload_too_large");
    if (parserError?.type === "entity.parse.failed") return sendProblem(res, "malformed_json");
    logError(error);
    return sendProblem(res, "internal");
  };
}
