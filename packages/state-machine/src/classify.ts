import type { ResendEvent } from "@mailstate/resend-events";

/**
 * What an event means for a notification:
 * - `delivery`: moves the delivery state (scheduled, sent, delivery_delayed,
 *   delivered, failed, suppressed);
 * - `engagement`: opened and clicked, kept in the engagement log, never a
 *   state change;
 * - `suppression_source`: bounced and complained, which feed the suppression
 *   policy AND move the delivery state (to the terminal `bounced` /
 *   `complained`); use `movesDeliveryState` to ask the latter;
 * - `other`: received mail, contacts, domains, Resend's own suppression list,
 *   and types Resend adds later: logged and acknowledged, nothing more.
 *
 * `email.suppressed` is `delivery`: Resend refused to send to an address on
 * its own list, which ends the notification but is not new evidence about
 * the address.
 */
export type EventClass = "delivery" | "engagement" | "suppression_source" | "other";

const CLASS_OF_TYPE: Readonly<Record<string, EventClass>> = {
  "email.scheduled": "delivery",
  "email.sent": "delivery",
  "email.delivery_delayed": "delivery",
  "email.delivered": "delivery",
  "email.failed": "delivery",
  "email.suppressed": "delivery",
  "email.opened": "engagement",
  "email.clicked": "engagement",
  "email.bounced": "suppression_source",
  "email.complained": "suppression_source",
};

export function classifyEvent(event: Pick<ResendEvent, "type">): EventClass {
  return Object.hasOwn(CLASS_OF_TYPE, event.type) ? (CLASS_OF_TYPE[event.type] ?? "other") : "other";
}

/** Whether the event can change delivery state: `delivery` and `suppression_source` events. */
export function movesDeliveryState(event: Pick<ResendEvent, "type">): boolean {
  const kind = classifyEvent(event);
  return kind === "delivery" || kind === "suppression_source";
}
