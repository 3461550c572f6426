// Calls to Resend's API through the `resend` package, with a timeout, each answer sorted into what
// the caller does next: a value, "not found" (handled per call), a transient failure (429, 5xx, no
// answer: thrown, worth retrying with backoff) or a permanent one (thrown, not worth it). The
// worker's jobs, the CLI and the API's cancel all call Resend through it.
import { Resend } from "resend";

export interface ResendClientOptions {
  apiKey: string;
  /** RESEND_BASE_URL; the package's default (https://api.resend.com) when absent. */
  baseUrl?: string | undefined;
  timeoutMs: number;
}

/** Resend answered an error, or did not answer. `status` is null when no answer came. */
export class ResendCallError extends Error {
  constructor(
    readonly call: string,
    readonly status: number | null,
    message: string,
  ) {
    super(`${call}: ${status ?? "no answer"} ${message}`);
    this.name = "ResendCallError";
  }

  /** 401 or 403: Resend refused RESEND_API_KEY. */
  get unauthorized(): boolean {
    return this.status === 401 || this.status === 403;
  }

  /** 429, 5xx and no answer (a timeout, a reset) are worth retrying; the rest is not. */
  get transient(): boolean {
    return this.status === null || this.status === 429 || this.status >= 500;
  }
}

type Answer<T> = { data: T | null; error: { statusCode: number | null; name: string; message: string } | null };

/** Not found: Resend answered 404. */
export const NOT_FOUND = Symbol("not found");

export function createResendClient({ apiKey, baseUrl, timeoutMs }: ResendClientOptions) {
  const resend = new Resend(apiKey, baseUrl ? { baseUrl } : undefined);

  /** One call with a timeout: its data, NOT_FOUND on a 404, else a ResendCallError. */
  async function call<T>(
    name: string,
    run: (signal: AbortSignal) => Promise<Answer<T>>,
  ): Promise<T | typeof NOT_FOUND> {
    let answer: Answer<T>;
    try {
      answer = await run(AbortSignal.timeout(timeoutMs));
    } catch (error) {
      throw new ResendCallError(name, null, error instanceof Error ? error.message : String(error));
    }
    if (answer.error) {
      if (answer.error.statusCode === 404) return NOT_FOUND;
      throw new ResendCallError(name, answer.error.statusCode, answer.error.message);
    }
    if (answer.data === null) throw new ResendCallError(name, null, "empty answer");
    return answer.data;
  }

  return {
    getEmail: (id: string) => call("emails.get", (signal) => resend.emails.get(id, { signal })),
    /** One page of the account's emails, newest first; `after` is the last email id of the page before. */
    listEmails: (after?: string) =>
      call("emails.list", (signal) => resend.emails.list({ limit: 100, ...(after ? { after } : {}) }, { signal })),
    cancelEmail: (id: string) => call("emails.cancel", (signal) => resend.emails.cancel(id, { signal })),
    listWebhookEvents: (webhookId: string, after?: string) =>
      call("webhooks.events.list", (signal) =>
        resend.webhooks.events.list({ webhookId, limit: 100, ...(after ? { after } : {}) }, { signal }),
      ),
    replayWebhookEvent: (webhookId: string, eventId: string) =>
      call("webhooks.events.replay", (signal) => resend.webhooks.events.replay({ webhookId, eventId }, { signal })),
    addSuppression: (email: string) =>
      call("suppressions.add", (signal) => resend.suppressions.add({ email }, { signal })),
    removeSuppression: (email: string) =>
      call("suppressions.remove", (signal) => resend.suppressions.remove(email, { signal })),
    unsubscribeContact: (audienceId: string, email: string) =>
      call("contacts.update", (signal) =>
        resend.contacts.update({ audienceId, email, unsubscribed: true }, { signal }),
      ),
  };
}

export type ResendClient = ReturnType<typeof createResendClient>;
