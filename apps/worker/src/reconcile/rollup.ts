// What a notification counts as in the reputation rollups, and what a batch changes of it. A fact is
// a property of the set of its applied events, so neither order nor redelivery can change it: the
// batch's change is the facts after it minus the facts before it, each -1, 0 or +1.
import type { AppliedRef, RollupChange, RollupCounts } from "@mailstate/db";
import { isEmailEvent, type ResendEvent } from "@mailstate/resend-events";

/** Events that say Resend accepted the email and tried to deliver it. */
const SENT_TYPES = new Set([
  "email.sent",
  "email.delivered",
  "email.delivery_delayed",
  "email.bounced",
  "email.complained",
]);

/**
 * The facts of one notification's applied events (the definition; @mailstate/db's reputation
 * recompute says the same in SQL): sent, delivered, a Permanent bounce (hard), another bounce and
 * no Permanent one (soft: a hard bounce after a soft one moves it), a complaint.
 */
export function rollupFactsOf(events: Iterable<ResendEvent>): RollupCounts {
  let sent = false;
  let delivered = false;
  let hard = false;
  let bounced = false;
  let complained = false;
  for (const event of events) {
    if (SENT_TYPES.has(event.type)) sent = true;
    if (event.type === "email.delivered") delivered = true;
    if (event.type === "email.complained") complained = true;
    if (isEmailEvent(event) && event.type === "email.bounced") {
      bounced = true;
      if (event.data.bounce.type === "Permanent") hard = true;
    }
  }
  const one = (fact: boolean) => (fact ? 1 : 0);
  return {
    sent: one(sent),
    delivered: one(delivered),
    hardBounced: one(hard),
    softBounced: one(bounced && !hard),
    complained: one(complained),
  };
}

/**
 * Each touched notification's change: the facts of its events before this transaction and after
 * it. `parsed` holds every event of both lists (svix-id → event).
 */
export function rollupChanges(
  touched: Iterable<string>,
  before: AppliedRef[],
  newlyApplied: AppliedRef[],
  parsed: ReadonlyMap<string, ResendEvent>,
): RollupChange[] {
  const eventsOf = (refs: AppliedRef[]) => {
    const byNotification = new Map<string, ResendEvent[]>();
    for (const { svixId, notificationId } of refs) {
      const event = parsed.get(svixId);
      if (!event) continue;
      const list = byNotification.get(notificationId) ?? [];
      list.push(event);
      byNotification.set(notificationId, list);
    }
    return byNotification;
  };
  const old = eventsOf(before);
  const added = eventsOf(newlyApplied);
  return [...touched].flatMap((notificationId) => {
    const fresh = added.get(notificationId);
    if (!fresh) return [];
    const prior = old.get(notificationId) ?? [];
    const was = rollupFactsOf(prior);
    const is = rollupFactsOf([...prior, ...fresh]);
    return [
      {
        notificationId,
        sent: is.sent - was.sent,
        delivered: is.delivered - was.delivered,
        hardBounced: is.hardBounced - was.hardBounced,
        softBounced: is.softBounced - was.softBounced,
        complained: is.complained - was.complained,
      },
    ];
  });
}
