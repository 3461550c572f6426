// What Resend's `last_event` (emails.get) says about a notification's state, as the webhook event
// the sweeper appends to the log when it is ahead of the stored state. Pure.

import type { LastEvent } from "@mailstate/resend-events";
import type { DeliveryState } from "@mailstate/state-machine";
import { machineEventTypeOf, nextDeliveryState } from "@mailstate/state-machine";

/**
 * The event each `last_event` stands for (null: nothing to append). `opened` and `clicked` imply
 * the email was delivered, and say no more (no time, no link): they append `email.delivered`.
 * `queued` is behind `recorded`. A `bounced` carries no bounce type: it appends an `Undetermined`
 * bounce, which does not suppress. `canceled` (a scheduled send canceled before it went out) will
 * never be delivered: it appends `email.failed` with the reason `canceled`, as Resend's own webhook
 * says it, which the machine takes to the final state `canceled`.
 */
export const LAST_EVENT_MAPPING: Record<LastEvent, string | null> = {
  queued: null,
  scheduled: "email.scheduled",
  sent: "email.sent",
  delivered: "email.delivered",
  delivery_delayed: "email.delivery_delayed",
  opened: "email.delivered",
  clicked: "email.delivered",
  bounced: "email.bounced",
  complained: "email.complained",
  failed: "email.failed",
  suppressed: "email.suppressed",
  canceled: "email.failed",
};

/** What emails.get answers that the appended event carries. */
export interface ResendEmail {
  id: string;
  from: string;
  to: string[] | string;
  subject: string;
  created_at: string;
  last_event: string;
  tags?: { name: string; value: string }[] | undefined;
}

/** An event learned from the API: its deterministic svix id and its payload, as a webhook would carry it. */
export interface ObservedEvent {
  svixId: string;
  type: string;
  payload: Record<string, unknown>;
}

/** The same email and event type always get the same id: a repeated poll appends nothing. */
export function observedSvixId(emailId: string, type: string): string {
  return `resend-api_${emailId}_${type}`;
}

/**
 * The event to append when `email.last_event` is ahead of `state` (the fold would move), timed at
 * the observation; null when it is not (behind, equal, unknown, or the state is final).
 */
export function observedEvent(email: ResendEmail, state: DeliveryState, observedAt: Date): ObservedEvent | null {
  const type = (LAST_EVENT_MAPPING as Record<string, string | null | undefined>)[email.last_event];
  if (!type) return null;
  const learned = `learned from Resend's API (emails.get last_event ${email.last_event})`;
  const extra: Record<string, unknown> =
    type === "email.bounced"
      ? { bounce: { type: "Undetermined", subType: "Undetermined", message: `${learned}: no bounce type` } }
      : type === "email.failed"
        ? { failed: { reason: email.last_event === "canceled" ? "canceled" : learned } }
        : type === "email.suppressed"
          ? { suppressed: { type: "Unknown", message: learned } }
          : {};
  if (nextDeliveryState(state, machineEventTypeOf({ type, data: extra })) === state) return null;
  return {
    svixId: observedSvixId(email.id, type),
    type,
    payload: {
      type,
      created_at: observedAt.toISOString(),
      data: {
        email_id: email.id,
        created_at: email.created_at,
        from: email.from,
        to: Array.isArray(email.to) ? email.to : [email.to],
        subject: email.subject,
        ...(email.tags && email.tags.length > 0 ? { tags: email.tags } : {}),
        ...extra,
      },
      // The mark of an event mailstate learned by asking rather than being told.
      mailstate: { source: "api", lastEvent: email.last_event },
    },
  };
}
