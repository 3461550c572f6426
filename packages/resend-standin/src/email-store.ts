// The emails the stand-in accepted (in order, by id, per batch call), the last_event each one
// answers, and who is told of a newly accepted one.
import type { LastEvent } from "@mailstate/resend-events";
import { toStoredEmail } from "./posted-email.ts";
import type { BatchCall, StoredEmail } from "./types.ts";
import type { WebhookSender } from "./webhooks.ts";

type EmailListener = (email: StoredEmail) => void;

export interface EmailStore {
  /** Every accepted email, in order. */
  readonly sent: StoredEmail[];
  readonly byId: Map<string, StoredEmail>;
  /** Every accepted POST /emails/batch. */
  readonly batchCalls: BatchCall[];
  /** Keep a posted (already validated) email; `extra` adds fields such as `batchCall`. */
  accept(raw: Record<string, unknown>, extra: Partial<StoredEmail>): StoredEmail;
  /** Force what GET /emails/:id answers as last_event. */
  forceLastEvent(emailId: string, lastEvent: LastEvent): void;
  /** Whether last_event was forced: such an email (say, of the account's history) is past cancelling. */
  isForced(emailId: string): boolean;
  /** last_event as GET /emails/:id answers it. */
  lastEventOf(email: StoredEmail): LastEvent;
  onEmail(listener: EmailListener): () => void;
  /** Tell the listeners of the emails an accepting answer names, each once. */
  announce(replyBody: unknown): void;
  /** Forget the emails; the listeners stay. */
  reset(): void;
}

export function createEmailStore(webhooks: WebhookSender | null): EmailStore {
  const sent: StoredEmail[] = [];
  const byId = new Map<string, StoredEmail>();
  const batchCalls: BatchCall[] = [];
  const forcedLastEvent = new Map<string, LastEvent>();
  const listeners = new Set<EmailListener>();
  const announced = new Set<string>();

  return {
    sent,
    byId,
    batchCalls,
    accept(raw, extra) {
      const email = toStoredEmail(raw, extra);
      sent.push(email);
      byId.set(email.id, email);
      return email;
    },
    forceLastEvent: (emailId, lastEvent) => void forcedLastEvent.set(emailId, lastEvent),
    isForced: (emailId) => forcedLastEvent.has(emailId),
    lastEventOf(email) {
      const forced = forcedLastEvent.get(email.id);
      if (forced) return forced;
      if (email.scheduledAt) return email.canceled ? "canceled" : "scheduled";
      if (!webhooks) return "sent";
      const last = webhooks.lastEventOf(email.id);
      return last ? (last.slice("email.".length) as LastEvent) : "queued";
    },
    onEmail(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    announce(replyBody) {
      // An idempotent replay answers ids already announced: they are not news.
      const fresh = acceptedIds(replyBody).filter((id) => !announced.has(id));
      for (const id of fresh) announced.add(id);
      const emails = fresh.flatMap((id) => byId.get(id) ?? []);
      for (const email of emails) for (const listener of listeners) listener(email);
    },
    reset() {
      sent.length = 0;
      byId.clear();
      batchCalls.length = 0;
      forcedLastEvent.clear();
      announced.clear();
    },
  };
}

/** The ids POST /emails (`{ id }`) or POST /emails/batch (`{ data: [{ id }] }`) answered. */
function acceptedIds(body: unknown): string[] {
  if (typeof body !== "object" || body === null) return [];
  if ("data" in body && Array.isArray(body.data)) return (body.data as { id: string }[]).map((item) => item.id);
  return "id" in body ? [String(body.id)] : [];
}
