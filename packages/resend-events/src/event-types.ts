// Every webhook event type mailstate models, grouped by what it describes.

/** Events about an email we sent: each carries the shared email data. */
export const EMAIL_EVENT_TYPES = [
  "email.scheduled",
  "email.sent",
  "email.delivered",
  "email.delivery_delayed",
  "email.bounced",
  "email.complained",
  "email.opened",
  "email.clicked",
  "email.failed",
  "email.suppressed",
] as const;

export const CONTACT_EVENT_TYPES = ["contact.created", "contact.updated", "contact.deleted"] as const;
export const DOMAIN_EVENT_TYPES = ["domain.created", "domain.updated", "domain.deleted"] as const;
export const SUPPRESSION_EVENT_TYPES = ["suppression.added", "suppression.removed"] as const;

/** Every type with a schema of its own; any other type parses as an "other" event. */
export const RESEND_EVENT_TYPES = [
  ...EMAIL_EVENT_TYPES,
  "email.received",
  ...CONTACT_EVENT_TYPES,
  ...DOMAIN_EVENT_TYPES,
  ...SUPPRESSION_EVENT_TYPES,
] as const;

export type EmailEventType = (typeof EMAIL_EVENT_TYPES)[number];
export type ContactEventType = (typeof CONTACT_EVENT_TYPES)[number];
export type DomainEventType = (typeof DOMAIN_EVENT_TYPES)[number];
export type SuppressionEventType = (typeof SUPPRESSION_EVENT_TYPES)[number];
export type ResendEventType = (typeof RESEND_EVENT_TYPES)[number];

const knownTypes: ReadonlySet<string> = new Set(RESEND_EVENT_TYPES);
const emailTypes: ReadonlySet<string> = new Set(EMAIL_EVENT_TYPES);

export function isResendEventType(type: string): type is ResendEventType {
  return knownTypes.has(type);
}

export function isEmailEventType(type: string): type is EmailEventType {
  return emailTypes.has(type);
}

/** Every value `last_event` (emails.get) takes in the `resend` package's types. */
export const LAST_EVENTS = [
  "queued",
  "scheduled",
  "sent",
  "delivered",
  "delivery_delayed",
  "opened",
  "clicked",
  "bounced",
  "complained",
  "failed",
  "suppressed",
  "canceled",
] as const;
export type LastEvent = (typeof LAST_EVENTS)[number];
