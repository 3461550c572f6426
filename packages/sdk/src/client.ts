// The HTTP client of the mailstate API (its calls, by resource; the requests themselves in requester.ts),
// and the no-op client used when mailstate is not configured.
import { createGuard, type Guard, type GuardOptions } from "./guard.ts";
import { chunks, LIMITS } from "./limits.ts";
import type { Mailstate } from "./mailstate.ts";
import { createRequester, orNullOn404, type Requester } from "./requester.ts";
import { sendBatchWith, sendWith } from "./send.ts";
import type {
  Notification,
  NotificationPage,
  RecordResult,
  Reputation,
  SendOutcomeResult,
  Suppression,
  SuppressionChange,
  SuppressionStatus,
  TenantOption,
  Timeline,
} from "./types.ts";
import { webhooks } from "./webhooks.ts";

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

const DEFAULT_TIMEOUT_MS = 5_000;
const DEFAULT_RATE_LIMIT_RETRIES = 3;
const DEFAULT_MAX_RETRY_AFTER_MS = 10_000;

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
    ...notificationCalls(request),
    async isSuppressed(email, options) {
      return (await api.getSuppression(email, options)) !== null;
    },
    ...suppressionCalls(request),
    async reputation(query = {}) {
      return (await request<Reputation>("GET", `/v1/reputation${searchOf(query)}`)).body;
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

/** The calls of /v1/notifications: record a send, attach Resend's id or its refusal, read and cancel. */
function notificationCalls(
  request: Requester,
): Pick<
  Mailstate,
  "record" | "recordBatch" | "attach" | "reportSendOutcomes" | "get" | "list" | "timeline" | "cancel"
> {
  return {
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
      return (await request<NotificationPage>("GET", `/v1/notifications${searchOf(query)}`)).body;
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
  };
}

/** The calls of /v1/suppressions (isSuppressed is getSuppression's answer, in createMailstate). */
function suppressionCalls(
  request: Requester,
): Pick<Mailstate, "getSuppression" | "checkSuppressions" | "suppress" | "unsuppress"> {
  return {
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
  };
}

/** `?tenant=…` when one is named. */
function tenantQuery(options: TenantOption | undefined): string {
  return options?.tenant === undefined ? "" : `?${new URLSearchParams({ tenant: options.tenant })}`;
}

/** `?key=value&…` of the query's fields that are set; "" when none is. */
function searchOf(query: object): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) search.set(key, String(value));
  return search.size > 0 ? `?${search}` : "";
}
