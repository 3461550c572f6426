// Questions the worker asks of any event, whatever its type.
import { isEmailEventType, isResendEventType } from "./event-types.ts";
import type { EmailEvent, KnownResendEvent, OtherResendEvent, ResendEvent } from "./schemas.ts";

export function isKnownEvent(event: ResendEvent): event is KnownResendEvent {
  return isResendEventType(event.type);
}

export function isOtherEvent(event: ResendEvent): event is OtherResendEvent {
  return !isResendEventType(event.type);
}

/** An event about an email we sent (`email.*` except `email.received`). */
export function isEmailEvent(event: ResendEvent): event is EmailEvent {
  return isEmailEventType(event.type);
}

/**
 * The id of the sent email the event is about, which is how it finds its
 * notification. `null` for events not about a sent email, `email.received`
 * included (inbound mail has an id of its own that no send carries). An
 * event of an unknown type yields `data.email_id` when it has a string one,
 * so types Resend adds later still reach their notification.
 */
export function emailIdOf(event: ResendEvent): string | null {
  if (isEmailEvent(event)) return event.data.email_id;
  if (isKnownEvent(event)) return null;
  const data: unknown = event.data;
  if (typeof data === "object" && data !== null && "email_id" in data && typeof data.email_id === "string") {
    return data.email_id || null;
  }
  return null;
}

/** The `to` list of an email event (sent or received), as written; `[]` for other events. */
export function recipientsOf(event: ResendEvent): string[] {
  if (isEmailEvent(event)) return [...event.data.to];
  if (isKnownEvent(event) && event.type === "email.received") return [...event.data.to];
  return [];
}

/**
 * Where an event came from: a webhook, or mailstate's sweeper asking Resend's API (emails.get),
 * which marks what it appends with `"mailstate": {"source": "api"}`.
 */
export function eventSourceOf(payload: unknown): "webhook" | "api" {
  const mark = typeof payload === "object" && payload !== null ? (payload as { mailstate?: unknown }).mailstate : null;
  return typeof mark === "object" && mark !== null && (mark as { source?: unknown }).source === "api"
    ? "api"
    : "webhook";
}

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * The W3C traceparent of the request that brought the event, which the worker notes on the stored
 * event (`mailstate.traceparent`) when tracing is on and the trace was kept; null otherwise.
 */
export function eventTraceparentOf(payload: unknown): string | null {
  const mark = typeof payload === "object" && payload !== null ? (payload as { mailstate?: unknown }).mailstate : null;
  const traceparent =
    typeof mark === "object" && mark !== null ? (mark as { traceparent?: unknown }).traceparent : null;
  return typeof traceparent === "string" && TRACEPARENT.test(traceparent) ? traceparent : null;
}

/** The trace id of eventTraceparentOf, for the support page's link. */
export function eventTraceIdOf(payload: unknown): string | null {
  return TRACEPARENT.exec(eventTraceparentOf(payload) ?? "")?.[1] ?? null;
}
