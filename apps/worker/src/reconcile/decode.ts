// Turns a raw verified webhook into what reconciliation needs, without ever throwing: an event the
// schema rejects is still logged (as ignored), so nothing acknowledged is lost.

import { emailIdOf, type ResendEvent, safeParseResendEvent, tryParseResendTimestamp } from "@mailstate/resend-events";
import { classifyEvent, type EventClass } from "@mailstate/state-machine";

export interface IncomingEvent {
  svixId: string;
  receivedAt: Date;
  raw: Record<string, unknown>;
}

export interface DecodedEvent extends IncomingEvent {
  type: string;
  occurredAt: Date;
  emailId: string | null;
  /** null when the payload does not match the schema of its type */
  event: ResendEvent | null;
  category: EventClass | "invalid";
  problem?: string;
}

function rawEmailId(raw: Record<string, unknown>): string | null {
  const data = raw.data;
  if (typeof data !== "object" || data === null || !("email_id" in data)) return null;
  return typeof data.email_id === "string" && data.email_id !== "" ? data.email_id : null;
}

export function decodeEvent(incoming: IncomingEvent): DecodedEvent {
  const type = typeof incoming.raw.type === "string" ? incoming.raw.type : "unknown";
  const createdAt =
    typeof incoming.raw.created_at === "string" ? tryParseResendTimestamp(incoming.raw.created_at) : null;
  const occurredAt = createdAt?.date ?? incoming.receivedAt;
  const parsed = safeParseResendEvent(incoming.raw);
  if (!parsed.success) {
    const problem = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
    return {
      ...incoming,
      type,
      occurredAt,
      emailId: rawEmailId(incoming.raw),
      event: null,
      category: "invalid",
      problem,
    };
  }
  return {
    ...incoming,
    type,
    occurredAt,
    emailId: emailIdOf(parsed.data),
    event: parsed.data,
    category: classifyEvent(parsed.data),
  };
}

/** Events that belong to a sent email and move or annotate its notification. */
export function isAboutSentEmail(event: DecodedEvent): event is DecodedEvent & { emailId: string; event: ResendEvent } {
  return event.event !== null && event.emailId !== null && event.category !== "other";
}
