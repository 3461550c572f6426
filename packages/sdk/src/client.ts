// The HTTP client of the mailstate API, and the no-op client used when mailstate is not configured.
import { type FieldError, MailstateError } from "./errors.ts";
import { createGuard, type Guard, type GuardOptions } from "./guard.ts";
import { chunks, LIMITS } from "./limits.ts";
import {
  type EmailLike,
  type ResendBatchLike,
  type ResendLike,
  type SendOptions,
  type SendResult,
  sendBatchWith,
  sendWith,
} from "./send.ts";
import type {
  AttachResult,
  CancelResult,
  ListQuery,
  Notification,
  NotificationPage,
  RecordInput,
  RecordResult,
  Reputation,
  ReputationQuery,
  SendOutcome,
  SendOutcomeResult,
  Suppression,
  SuppressionChange,
  SuppressionStatus,
  TenantOption,
  Timeline,
} from "./types.ts";
import { type MailstateWebhooks, webhooks } from "./webhooks.ts";

export interface MailstateOptions {
  /** Where the mailstate API listens, e.g. https://mailstate.internal. Unset → the no-op client. */
  baseUrl?: string | undefined;
  /** One of the API's API_KEYS. Unset → the no-op client. */
  apiKey?: string | undefined;
  /** A fetch to use instead of the global one. */
  fetch?: typeof fetch;
  /** Per request; default 5000 ms. */
  timeoutMs?: number;
  /**
   * On 429 (the key over its rate limit) a request waits the API's Retry-After and tries again, this
   * many times at most (default 3); 0 throws at once.
   */
  rateLimitRetries?: number;
  /** A Retry-After longer than this (default 10000 ms) is not waited for: the request throws `rate_limited`. */
  maxRetryAfterMs?: number;
  /**
   * Refuse sends (`status: "refused"`) of a tenant and category whose bounce or complaint rate is
   * over a limit; a send with `bypassSuppression` is never refused. See GuardOptions.
   */
  guard?: GuardOptions;
}

export interface Mailstate {
  /** False for the no-op client: nothing is recorded or checked, sends still go to Resend. */
  readonly enabled: boolean;
  record(input: RecordInput): Promise<RecordResult>;
  /** Up to 100 at once. */
  recordBatch(inputs: RecordInput[]): Promise<RecordResult[]>;
  /** Attach Resend's email id to a recorded notification, after the send. */
  attach(notificationId: string, resendEmailId: string): Promise<AttachResult>;
  /**
   * After sends: attach each Resend id, or record Resend's refusal (an id attached later clears it).
   * 100 per request; one result per item, and a conflict or unknown id is a result, not a throw.
   */
  reportSendOutcomes(outcomes: SendOutcome[]): Promise<SendOutcomeResult[]>;
  /** null when no notification has this id (and always on the no-op client). */
  get(notificationId: string): Promise<Notification | null>;
  list(query?: ListQuery): Promise<NotificationPage>;
  timeline(notificationId: string): Promise<Timeline | null>;
  /**
   * Cancel a scheduled send (`scheduledAt`) at Resend. Throws MailstateError: 404 for an unknown id
   * (or another tenant's), 409 when it is not scheduled any more (sent, or never scheduled).
   */
  cancel(notificationId: string): Promise<CancelResult>;
  /** Suppressions follow the API's SUPPRESSION_SCOPE and the key's tenant; an admin key may name one. */
  isSuppressed(email: string, options?: TenantOption): Promise<boolean>;
  /** The suppression, with who added and removed the address by hand (`history`). */
  getSuppression(
    email: string,
    options?: TenantOption,
  ): Promise<(Suppression & { history: SuppressionChange[] }) | null>;
  /** The status of each distinct address, in the order given. */
  checkSuppressions(emails: string[], options?: TenantOption): Promise<SuppressionStatus[]>;
  suppress(email: string, note?: string, options?: TenantOption): Promise<Suppression | null>;
  /** True when the address was suppressed and no longer is. */
  unsuppress(email: string, options?: TenantOption): Promise<boolean>;
  /** Bounce and complaint rates of the notifications recorded in a window (the no-op client: zeros). */
  reputation(query?: ReputationQuery): Promise<Reputation>;
  /** Check suppressions, record, send through Resend, attach Resend's id. Never throws for mailstate's sake. */
  send<E extends EmailLike>(resend: ResendLike<E>, email: E, options?: SendOptions): Promise<SendResult>;
  /** The same for many emails, through Resend's batch endpoint, 100 per call. One result per email, in order. */
  sendBatch<E extends EmailLike>(resend: ResendBatchLike<E>, emails: E[], options?: SendOptions): Promise<SendResult[]>;
  /** Receiving mailstate's outbound webhooks: `webhooks.verify(rawBody, headers, secret)`. Local, no API call. */
  readonly webhooks: MailstateWebhooks;
}

const DEFAULT_TIMEOUT_MS = 5_000;
const DEFAULT_RATE_LIMIT_RETRIES = 3;
const DEFAULT_MAX_RETRY_AFTER_MS = 10_000;

/** `?tenant=…` when one is named. */
function tenantQuery(options: TenantOption | undefined): string {
  return options?.tenant === undefined ? "" : `?${new URLSearchParams({ tenant: options.tenant })}`;
}

export function createMailstate(options: MailstateOptions = {}): Mailstate {
  const { baseUrl, apiKey } = options;
  if (!baseUrl || !apiKey) return createNoopMailstate();
  const request = createRequester(baseUrl, apiKey, options.fetch ?? globalThis.fetch, {
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    rateLimitRetries: options.rateLimitRetries ?? DEFAULT_RATE_LIMIT_RETRIES,
    maxRetryAfterMs: options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS,
  });

  const api: Mailstate = {
    enabled: true,

    async record(input) {
      const { status, body } = await request<{ created: boolean; notification: Notification }>(
        "POST",
        "/v1/notifications",
        input,
      );
      return { status: status === 201 || body.created ? "created" : "existing", notification: body.notification };
    },

    async recordBatch(inputs) {
      const results: RecordResult[] = [];
      for (const chunk of chunks(inputs, LIMITS.batch)) {
        const { body } = await request<{ data: { created: boolean; notification: Notification }[] }>(
          "POST",
          "/v1/notifications/batch",
          { notifications: chunk },
        );
        for (const item of body.data) {
          results.push({ status: item.created ? "created" : "existing", notification: item.notification });
        }
      }
      return results;
    },

    async attach(notificationId, resendEmailId) {
      const { body } = await request<Notification>("PATCH", `/v1/notifications/${encodeURIComponent(notificationId)}`, {
        resendEmailId,
      });
      return { status: "attached", notification: body };
    },

    async reportSendOutcomes(outcomes) {
      const results: SendOutcomeResult[] = [];
      for (const chunk of chunks(outcomes, LIMITS.batch)) {
        const { body } = await request<{ data: SendOutcomeResult[] }>("PATCH", "/v1/notifications/batch", {
          notifications: chunk.map(({ notificationId, ...outcome }) => ({ id: notificationId, ...outcome })),
        });
        results.push(...body.data);
      }
      return results;
    },

    async get(notificationId) {
      return orNullOn404(request<Notification>("GET", `/v1/notifications/${encodeURIComponent(notificationId)}`));
    },

    async list(query = {}) {
      const search = new URLSearchParams();
      for (const [key, value] of Object.entries(query)) if (value !== undefined) search.set(key, String(value));
      const suffix = search.size > 0 ? `?${search}` : "";
      return (await request<NotificationPage>("GET", `/v1/notifications${suffix}`)).body;
    },

    async timeline(notificationId) {
      return orNullOn404(request<Timeline>("GET", `/v1/notifications/${encodeURIComponent(notificationId)}/timeline`));
    },

    async cancel(notificationId) {
      const { body } = await request<{ id: string; resendEmailId: string }>(
        "POST",
        `/v1/notifications/${encodeURIComponent(notificationId)}/cancel`,
      );
      return { status: "canceled", id: body.id, resendEmailId: body.resendEmailId };
    },

    async isSuppressed(email, options) {
      return (await api.getSuppression(email, options)) !== null;
    },

    async getSuppression(email, options) {
      return orNullOn404(
        request<Suppression & { history: SuppressionChange[] }>(
          "GET",
          `/v1/suppressions/${encodeURIComponent(email)}${tenantQuery(options)}`,
        ),
      );
    },

    async checkSuppressions(emails, options) {
      const results: SuppressionStatus[] = [];
      for (const chunk of chunks(emails, LIMITS.check)) {
        const { body } = await request<{ data: SuppressionStatus[] }>("POST", "/v1/suppressions/check", {
          emails: chunk,
          ...(options?.tenant === undefined ? {} : { tenant: options.tenant }),
        });
        results.push(...body.data);
      }
      return results;
    },

    async suppress(email, note, options) {
      const body = {
        email,
        ...(note === undefined ? {} : { note }),
        ...(options?.tenant === undefined ? {} : { tenant: options.tenant }),
      };
      return (await request<Suppression>("POST", "/v1/suppressions", body)).body;
    },

    async unsuppress(email, options) {
      const path = `/v1/suppressions/${encodeURIComponent(email)}${tenantQuery(options)}`;
      return (await orNullOn404(request("DELETE", path))) !== null;
    },

    async reputation(query = {}) {
      const search = new URLSearchParams();
      for (const [key, value] of Object.entries(query)) if (value !== undefined) search.set(key, String(value));
      const suffix = search.size > 0 ? `?${search}` : "";
      return (await request<Reputation>("GET", `/v1/reputation${suffix}`)).body;
    },

    send: (resend, email, sendOptions) => sendWith(api, resend, email, sendOptions, guard),
    sendBatch: (resend, emails, sendOptions) => sendBatchWith(api, resend, emails, sendOptions, guard),
    webhooks,
  };
  const guard: Guard | null = options.guard ? createGuard((query) => api.reputation(query), options.guard) : null;
  return api;
}

const noFigures = { sent: 0, delivered: 0, bounced: 0, hardBounced: 0, softBounced: 0, complained: 0 };

/** What `createMailstate` answers without a baseUrl or apiKey: no network, no throw, sends still go out. */
export function createNoopMailstate(): Mailstate {
  const api: Mailstate = {
    enabled: false,
    record: async () => ({ status: "disabled", notification: null }),
    recordBatch: async (inputs) => inputs.map(() => ({ status: "disabled", notification: null })),
    attach: async () => ({ status: "disabled", notification: null }),
    reportSendOutcomes: async (outcomes) => outcomes.map(() => ({ status: "disabled", notification: null })),
    get: async () => null,
    list: async () => ({ data: [], nextCursor: null }),
    timeline: async () => null,
    cancel: async (notificationId) => ({ status: "disabled", id: notificationId, resendEmailId: null }),
    isSuppressed: async () => false,
    getSuppression: async () => null,
    checkSuppressions: async (emails) =>
      [...new Set(emails)].map((email) => ({ email, suppressed: false, reason: null, since: null })),
    suppress: async () => null,
    unsuppress: async () => false,
    reputation: async (query = {}) => ({
      window: query.window ?? "24h",
      tenant: query.tenant ?? null,
      category: query.category ?? null,
      fromDomain: query.fromDomain ?? null,
      since: new Date().toISOString(),
      ...noFigures,
      bounceRate: null,
      complaintRate: null,
      series: [],
    }),
    send: (resend, email, sendOptions) => sendWith(api, resend, email, sendOptions),
    sendBatch: (resend, emails, sendOptions) => sendBatchWith(api, resend, emails, sendOptions),
    webhooks,
  };
  return api;
}

type Requester = <T>(method: string, path: string, body?: unknown) => Promise<{ status: number; body: T }>;

interface RequestLimits {
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

function createRequester(baseUrl: string, apiKey: string, fetchImpl: typeof fetch, limits: RequestLimits) {
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

async function orNullOn404<T>(pending: Promise<{ body: T }>): Promise<T | null> {
  try {
    return (await pending).body;
  } catch (error) {
    if (error instanceof MailstateError && error.status === 404) return null;
    throw error;
  }
}
