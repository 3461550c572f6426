// Turns a raw verified webhook into what reconciliation needs, without ever throwing: an event the
// schema rejects is still logged (as invalid, for `mailstate reprocess`), so nothing acknowledged is lost.

import {
  emailIdOf,
  type ResendEvent,
  safeParseResendEvent,
  tryParseResendTimestamp,
  wellFormedJson,
} from "@mailstate/resend-events";
import { classifyEvent, type EventClass } from "@mailstate/state-machine";

export interface IncomingEvent {
  svixId: string;
  receivedAt: Date;
  raw: Record<string, unknown>;
}

/** The Resend tag `@mailstate/sdk` puts on every send: the id of the notification it recorded. */
const NOTIFICATION_TAG = "mailstate_id";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface DecodedEvent extends IncomingEvent {
  type: string;
  occurredAt: Date;
  /** Whether occurredAt is the event's own created_at; else it is when it was received (no readable one). */
  ownTime: boolean;
  emailId: string | null;
  /** The notification id of the `mailstate_id` tag, when the send carried one. */
  taggedNotificationId: string | null;
  /** Resend Broadcasts are never sent through mailstate: their events carry a `broadcast_id`. */
  broadcastId: string | null;
  /** null when the payload does not match the schema of its type */
  event: ResendEvent | null;
  category: EventClass | "invalid";
  problem?: string;
}

function rawData(raw: Record<string, unknown>): Record<string, unknown> {
  const data = raw.data;
  return typeof data === "object" && data !== null && !Array.isArray(data) ? (data as Record<string, unknown>) : {};
}

const nonEmptyString = (value: unknown): string | null => (typeof value === "string" && value !== "" ? value : null);

/** A tag's value as Resend echoes tags (`{name: value}` or `[{name, value}]`), read from the raw body. */
function rawTag(data: Record<string, unknown>, name: string): string | null {
  const tags = data.tags;
  if (Array.isArray(tags)) {
    const tag = tags.find((item) => typeof item === "object" && item !== null && item.name === name);
    return nonEmptyString(tag?.value);
  }
  if (typeof tags === "object" && tags !== null) return nonEmptyString((tags as Record<string, unknown>)[name]);
  return null;
}

export function decodeEvent(received: IncomingEvent): DecodedEvent {
  const incoming = { ...received, raw: wellFormedJson(received.raw) };
  const type = typeof incoming.raw.type === "string" ? incoming.raw.type : "unknown";
  const createdAt =
    typeof incoming.raw.created_at === "string" ? tryParseResendTimestamp(incoming.raw.created_at) : null;
  const occurredAt = createdAt?.date ?? incoming.receivedAt;
  const data = rawData(incoming.raw);
  const tagged = rawTag(data, NOTIFICATION_TAG);
  const common = {
    ...incoming,
    type,
    occurredAt,
    ownTime: createdAt !== null,
    taggedNotificationId: tagged !== null && UUID.test(tagged) ? tagged.toLowerCase() : null,
    broadcastId: nonEmptyString(data.broadcast_id),
  };
  const parsed = safeParseResendEvent(incoming.raw);
  if (!parsed.success) {
    const problem = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
    return { ...common, emailId: nonEmptyString(data.email_id), event: null, category: "invalid", problem };
  }
  return { ...common, emailId: emailIdOf(parsed.data), event: parsed.data, category: classifyEvent(parsed.data) };
}

/** Events that belong to a sent email and move or annotate its notification. */
export function isAboutSentEmail(event: DecodedEvent): event is DecodedEvent & { emailId: string; event: ResendEvent } {
  return event.event !== null && event.emailId !== null && event.category !== "other";
}
