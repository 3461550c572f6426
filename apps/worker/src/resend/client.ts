// Calls to Resend's API through the `resend` package, with a timeout, each answer sorted into what
// the job does next: a value, "not found" (handled per call), a transient failure (429, 5xx, no
// answer: thrown, so BullMQ retries with backoff) or a permanent one (UnrecoverableError).
import { UnrecoverableError } from "bullmq";
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

/** In a job: a transient failure is rethrown for BullMQ's backoff, a permanent one ends the job. */
export function asJobError(error: unknown): Error {
  if (error instanceof ResendCallError && !error.transient) return new UnrecoverableError(error.message);
  return error instanceof Error ? error : new Error(String(error));
}
