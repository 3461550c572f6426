// A local stand-in for Resend's HTTP API (the emails endpoints), for tests and the demo: the one
// fake mailstate allows. Point the `resend` package at it with `new Resend(key, { baseUrl: standin.url })`.
// Given `webhook`, it posts each accepted email's lifecycle back as Svix-signed webhooks.
import type { LastEvent } from "@mailstate/resend-events";
import type { StandinOptions } from "./options.ts";
import { createRouter } from "./router.ts";
import { contactRoutes } from "./routes/contacts.ts";
import { emailRoutes } from "./routes/emails.ts";
import { sendRoutes } from "./routes/sends.ts";
import { suppressionRoutes } from "./routes/suppressions.ts";
import { webhookEventRoutes } from "./routes/webhook-events.ts";
import { serve } from "./server.ts";
import { createStandinState } from "./state.ts";
import type {
  BatchCall,
  RequestRecord,
  StandinContact,
  StandinFault,
  StandinSuppression,
  StoredEmail,
} from "./types.ts";
import { noWebhookCounters, type WebhookCounters, type WebhookSender } from "./webhooks.ts";

export { DEFAULT_RATES, firstLink, type Lifecycle, type Outcome, type WebhookRates } from "./lifecycle.ts";
export type { StandinOptions } from "./options.ts";
export { createRandom, type Random } from "./random.ts";
export type { BatchCall, StandinContact, StandinFault, StandinSuppression, StoredEmail } from "./types.ts";
export type { WebhookLogEntry, WebhookLogStatus } from "./webhook-log.ts";
export {
  newMessageId,
  type PlannedEmail,
  type WebhookCounters,
  type WebhookDelivery,
  type WebhookOptions,
  type WebhookSender,
} from "./webhooks.ts";

export interface ResendStandin {
  url: string;
  port: number;
  /** Every accepted email, in order. */
  sent: StoredEmail[];
  /** Every accepted POST /emails/batch. */
  batchCalls: BatchCall[];
  /** Every request, for tests that count calls (method, path, status, route name, when it arrived). */
  requests: RequestRecord[];
  /** Calls per route name (`GET /emails/:id`, `POST /suppressions`, …), answered or not. */
  routeCalls: Map<string, number>;
  /** The account's suppression list, by normalized address. */
  suppressions: Map<string, StandinSuppression>;
  /** Contacts by `<audienceId>/<email>`. */
  contacts: Map<string, StandinContact>;
  addContact(audienceId: string, email: string): StandinContact;
  /** Answer the next calls of a route with a fault (429, 500, a delay). */
  injectFault(fault: StandinFault): void;
  /** Force what GET /emails/:id answers as last_event for an email. */
  setLastEvent(emailId: string, lastEvent: LastEvent): void;
  /**
   * An email of the account's history, as if sent before mailstate was adopted: listed by GET /emails
   * (newest first by `createdAt`, default now) with `lastEvent` (default `delivered`); no webhook.
   */
  addHistory(email: {
    to: string | string[];
    from?: string;
    subject?: string;
    createdAt?: Date;
    lastEvent?: LastEvent;
  }): StoredEmail;
  /** The webhook endpoint id of the delivery log. */
  webhookId: string;
  emails: Map<string, StoredEmail>;
  /** Called for each accepted email, after the answer is decided. */
  onEmail(listener: (email: StoredEmail) => void): () => void;
  /** The webhook sender, when `webhook` was given. */
  webhooks: WebhookSender | null;
  /** Webhooks posted, retried, failed… (all zero without `webhook`). */
  readonly counters: WebhookCounters;
  /** Resolves once every webhook planned so far was delivered or given up (at once without `webhook`). */
  idle(timeoutMs?: number): Promise<void>;
  /** Forget everything sent so far. */
  reset(): void;
  /** Stops the server and cancels pending webhooks. */
  close(): Promise<void>;
}

export async function createResendStandin(options: StandinOptions = {}): Promise<ResendStandin> {
  const state = createStandinState(options);
  const routes = [
    ...sendRoutes(state),
    ...emailRoutes(state),
    ...suppressionRoutes(state),
    ...contactRoutes(state),
    ...webhookEventRoutes(state),
  ];
  const router = createRouter(routes, { apiKey: options.apiKey, idempotency: state.idempotency });
  const server = await serve(state, router, options);
  const { emails, webhooks } = state;

  return {
    url: server.url,
    port: server.port,
    sent: emails.sent,
    batchCalls: emails.batchCalls,
    requests: state.requests,
    routeCalls: state.routeCalls,
    suppressions: state.suppressions.entries,
    contacts: state.contacts.entries,
    webhookId: state.webhookId,
    addContact: (audienceId, email) => state.contacts.add(audienceId, email),
    injectFault: (fault) => state.faults.inject(fault),
    setLastEvent: (emailId, lastEvent) => emails.forceLastEvent(emailId, lastEvent),
    addHistory({ to, from = "Acme <hello@acme.test>", subject = "Welcome to Acme", createdAt, lastEvent }) {
      const email = emails.accept(
        { from, to, subject, text: subject },
        createdAt ? { createdAt: createdAt.toISOString() } : {},
      );
      emails.forceLastEvent(email.id, lastEvent ?? "delivered");
      return email;
    },
    emails: emails.byId,
    webhooks,
    get counters() {
      return webhooks?.counters ?? noWebhookCounters();
    },
    idle(timeoutMs) {
      return webhooks ? webhooks.idle(timeoutMs) : Promise.resolve();
    },
    onEmail: (listener) => emails.onEmail(listener),
    reset: () => state.reset(),
    close() {
      webhooks?.close();
      return server.close();
    },
  };
}
