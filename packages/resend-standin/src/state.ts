// Everything the stand-in remembers between requests, kept together so `reset()` forgets all of it:
// the emails, the suppression list, the contacts, the faults to play, the idempotency keys and the
// requests seen. Given `webhook`, each accepted email's lifecycle is posted back.
import { type ContactBook, createContactBook } from "./contact-book.ts";
import { createEmailStore, type EmailStore } from "./email-store.ts";
import { createFaultPlan, type FaultPlan } from "./fault-plan.ts";
import { createIdempotencyCache, type IdempotencyCache } from "./idempotency.ts";
import type { StandinOptions } from "./options.ts";
import type { Reply } from "./router.ts";
import { createSuppressionList, type SuppressionList } from "./suppression-list.ts";
import type { RequestRecord, StoredEmail } from "./types.ts";
import { createWebhookSender, type WebhookSender } from "./webhooks.ts";

export interface StandinState {
  readonly emails: EmailStore;
  readonly suppressions: SuppressionList;
  readonly contacts: ContactBook;
  readonly faults: FaultPlan;
  readonly idempotency: IdempotencyCache<Reply>;
  /** Every request, in order of answer. */
  readonly requests: RequestRecord[];
  /** Calls per route name, answered or not. */
  readonly routeCalls: Map<string, number>;
  /** The webhook sender, when `webhook` was given. */
  readonly webhooks: WebhookSender | null;
  /** The webhook endpoint id of the delivery log. */
  readonly webhookId: string;
  reset(): void;
}

export function createStandinState(options: StandinOptions): StandinState {
  const webhooks = options.webhook ? createWebhookSender(options.webhook) : null;
  const emails = createEmailStore(webhooks);
  const suppressions = createSuppressionList(webhooks, options.suppressionEvents === true);
  const contacts = createContactBook();
  const faults = createFaultPlan();
  const idempotency = createIdempotencyCache<Reply>();
  const requests: RequestRecord[] = [];
  const routeCalls = new Map<string, number>();
  if (webhooks) {
    // After the latest an email's own webhooks are posted (their delay), so suppression.added comes after them.
    const afterWebhooksMs = (options.webhook?.maxDelayMs ?? 250) + 50;
    emails.onEmail((email) => postLifecycle(email, webhooks, suppressions, afterWebhooksMs));
  }

  return {
    emails,
    suppressions,
    contacts,
    faults,
    idempotency,
    requests,
    routeCalls,
    webhooks,
    webhookId: options.webhookId ?? "wh_standin",
    reset() {
      emails.reset();
      suppressions.reset();
      contacts.reset();
      faults.reset();
      idempotency.clear();
      requests.length = 0;
      routeCalls.clear();
      webhooks?.reset();
    },
  };
}

/** Post an accepted email's webhooks, and list the addresses its bounce or complaint suppresses. */
function postLifecycle(
  email: StoredEmail,
  webhooks: WebhookSender,
  suppressions: SuppressionList,
  afterWebhooksMs: number,
): void {
  // A scheduled send says so, and then waits: the stand-in never reaches its time.
  if (email.scheduledAt) {
    webhooks.emit("email.scheduled", {
      email_id: email.id,
      created_at: email.createdAt,
      from: email.from,
      to: email.to,
      subject: email.subject,
    });
    return;
  }
  const plan = webhooks.schedule(email);
  const origin = plan.outcome === "complained" ? "complaint" : "bounce";
  // Resend lists the address when the bounce or complaint happens, and says so after it.
  const happensIn = Math.max(0, (plan.events.at(-1)?.occurredAt ?? Date.now()) - Date.now());
  for (const address of plan.suppresses) suppressions.add(address, origin, email.id, happensIn + afterWebhooksMs);
}
