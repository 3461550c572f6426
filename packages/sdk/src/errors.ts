// The one error type of the SDK: what went wrong (`code`) and the HTTP status when there was one.

/** Problem codes of the mailstate API, plus what can go wrong before an answer arrives. */
export type MailstateErrorCode =
  | "unauthorized"
  | "validation_failed"
  | "malformed_json"
  | "not_found"
  | "conflict"
  /** The key named another tenant than its own. */
  | "tenant_forbidden"
  /** The key is over its rate limit, and Retry-After was longer than the client waits (`maxRetryAfterMs`). */
  | "rate_limited"
  | "payload_too_large"
  | "database_unavailable"
  | "queue_unavailable"
  | "internal"
  /** The request never got an answer (connection refused, DNS, reset). */
  | "network_error"
  /** No answer within `timeoutMs`. */
  | "timeout"
  /** An answer that is not what the API sends (a proxy's HTML page, say). */
  | "invalid_response"
  | (string & {});

export interface FieldError {
  location: string;
  path: string;
  message: string;
}

export class MailstateError extends Error {
  readonly code: MailstateErrorCode;
  /** The HTTP status, or null when no answer came. */
  readonly status: number | null;
  /** Per-field problems of a 400. */
  readonly errors: FieldError[];
  /** For a 429: how long the API asked to wait (its Retry-After), in ms. */
  readonly retryAfterMs: number | null;

  constructor(
    code: MailstateErrorCode,
    message: string,
    {
      status = null,
      errors = [],
      retryAfterMs = null,
      cause,
    }: { status?: number | null; errors?: FieldError[]; retryAfterMs?: number | null; cause?: unknown } = {},
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "MailstateError";
    this.code = code;
    this.status = status;
    this.errors = errors;
    this.retryAfterMs = retryAfterMs;
  }
}
