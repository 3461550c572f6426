// Requests to the mailstate API: the bearer key, a timeout, Retry-After waited out on 429, and an
// error answer (an RFC 9457 problem) thrown as a MailstateError.
import { type FieldError, MailstateError } from "./errors.ts";

/** One call of the API: its status and parsed JSON body; throws MailstateError for anything else. */
export type Requester = <T>(method: string, path: string, body?: unknown) => Promise<{ status: number; body: T }>;

export interface RequestLimits {
  timeoutMs: number;
  rateLimitRetries: number;
  maxRetryAfterMs: number;
}

/** Retry-After as the API sends it (seconds), or as an HTTP date; null when absent or unreadable. */
function retryAfterMs(header: string | null, now = Date.now()): number | null {
  if (header === null || header.trim() === "") return null;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1_000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createRequester(
  baseUrl: string,
  apiKey: string,
  fetchImpl: typeof fetch,
  limits: RequestLimits,
): Requester {
  const root = baseUrl.replace(/\/+$/, "");
  const { timeoutMs } = limits;

  async function send(method: string, path: string, body: unknown): Promise<Response> {
    try {
      return await fetchImpl(`${root}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${apiKey}`,
          accept: "application/json",
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
      throw timedOut
        ? new MailstateError("timeout", `mailstate did not answer ${method} ${path} within ${timeoutMs} ms`, {
            cause: error,
          })
        : new MailstateError("network_error", `mailstate could not be reached (${method} ${path})`, { cause: error });
    }
  }

  const request: Requester = async <T>(method: string, path: string, body?: unknown) => {
    let response = await send(method, path, body);
    // Over the key's rate limit: wait as long as the API asks, a few times, then give up.
    for (let retry = 0; response.status === 429 && retry < limits.rateLimitRetries; retry += 1) {
      const delay = retryAfterMs(response.headers.get("retry-after")) ?? 1_000;
      if (delay > limits.maxRetryAfterMs) break;
      await response.body?.cancel().catch(() => {});
      await wait(delay);
      response = await send(method, path, body);
    }
    if (response.status === 204) return { status: 204, body: undefined as T };
    const text = await response.text().catch(() => "");
    let parsed: unknown;
    try {
      parsed = text === "" ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!response.ok)
      throw problemError(
        response.status,
        parsed,
        `${method} ${path}`,
        retryAfterMs(response.headers.get("retry-after")),
      );
    if (parsed === undefined) {
      throw new MailstateError("invalid_response", `mailstate answered ${method} ${path} with no JSON`, {
        status: response.status,
      });
    }
    return { status: response.status, body: parsed as T };
  };
  return request;
}

/** An RFC 9457 problem as a MailstateError: the code is the last segment of its `type`. */
function problemError(status: number, body: unknown, what: string, retryAfter: number | null): MailstateError {
  const problem = (typeof body === "object" && body !== null ? body : {}) as {
    type?: unknown;
    detail?: unknown;
    title?: unknown;
    errors?: unknown;
  };
  const slug = typeof problem.type === "string" ? problem.type.split("/").pop() : undefined;
  const code = slug ? slug.replaceAll("-", "_") : status >= 500 ? "internal" : "invalid_response";
  const message =
    typeof problem.detail === "string"
      ? problem.detail
      : typeof problem.title === "string"
        ? problem.title
        : `mailstate answered ${what} with ${status}`;
  const errors = Array.isArray(problem.errors) ? (problem.errors as FieldError[]) : [];
  return new MailstateError(code, message, { status, errors, retryAfterMs: status === 429 ? retryAfter : null });
}

/** The body, or null when the API answered 404. */
export async function orNullOn404<T>(pending: Promise<{ body: T }>): Promise<T | null> {
  try {
    return (await pending).body;
  } catch (error) {
    if (error instanceof MailstateError && error.status === 404) return null;
    throw error;
  }
}
