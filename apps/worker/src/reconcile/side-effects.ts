// What an event does besides being logged. Each runs exactly once per event because its trigger
// happens once: the row's first insert (suppressions) or its flip to `applied` (engagement, state).
import { type EngagementRow, reconcileStore, type SqlClient } from "@mailstate/db";
import { isKnownEvent, type ResendEvent } from "@mailstate/resend-events";
import {
  planSuppressions,
  reachesSoftBounceThreshold,
  type SuppressionPolicy,
  type SuppressionReason,
} from "@mailstate/state-machine";
import type { ParsedEventCache } from "./event-cache.ts";
import { type AppliedRef, projectRefs } from "./project.ts";

export interface LoggedEvent {
  svixId: string;
  event: ResendEvent;
  occurredAt: Date;
}

export interface AppliedEvent extends LoggedEvent {
  notificationId: string;
}

type SuppressionStep =
  | { kind: "suppress"; email: string; reason: SuppressionReason; source: LoggedEvent }
  | { kind: "soft_bounce"; email: string; source: LoggedEvent }
  | { kind: "reset"; email: string; source: LoggedEvent };

/**
 * Bounces and complaints suppress their recipients whether or not a notification is recorded yet:
 * the address is what bounced. Steps run sorted by address so concurrent batches lock rows in the
 * same order and cannot deadlock.
 */
export async function applySuppressionPolicy(
  client: SqlClient,
  logged: LoggedEvent[],
  policy: SuppressionPolicy,
): Promise<{ resetSoftBounces: string[] }> {
  const steps: SuppressionStep[] = [];
  for (const source of logged) {
    const plan = planSuppressions(source.event, policy);
    for (const { email, reason } of plan.suppress) steps.push({ kind: "suppress", email, reason, source });
    for (const email of plan.countSoftBounce) steps.push({ kind: "soft_bounce", email, source });
    for (const email of plan.resetSoftBounce) steps.push({ kind: "reset", email, source });
  }
  steps.sort((a, b) => a.email.localeCompare(b.email) || a.source.occurredAt.getTime() - b.source.occurredAt.getTime());
  // Deliveries are the common case: addresses with nothing but resets in this batch are answered
  // to the caller, which resets them in the batch's final statement (no other step touches them).
  const countedHere = new Set(steps.filter((step) => step.kind !== "reset").map((step) => step.email));
  const resetOnly = [...new Set(steps.filter((step) => !countedHere.has(step.email)).map((step) => step.email))];
  for (const step of steps.filter((candidate) => countedHere.has(candidate.email))) {
    const { svixId, event, occurredAt } = step.source;
    const metadata = { eventType: event.type, occurredAt: occurredAt.toISOString() };
    if (step.kind === "reset") {
      await reconcileStore.resetSoftBounces(client, [step.email]);
    } else if (step.kind === "suppress") {
      await reconcileStore.addSuppression(client, {
        email: step.email,
        reason: step.reason,
        sourceEventId: svixId,
        metadata,
      });
    } else {
      const count = await reconcileStore.countSoftBounce(client, step.email, svixId, occurredAt);
      if (reachesSoftBounceThreshold(count, policy)) {
        await reconcileStore.addSuppression(client, {
          email: step.email,
          reason: "soft_bounce_threshold",
          sourceEventId: svixId,
          metadata: { ...metadata, consecutiveSoftBounces: count },
        });
      }
    }
  }
  return { resetSoftBounces: resetOnly };
}

function engagementRow(applied: AppliedEvent): EngagementRow | null {
  const { event, svixId, notificationId, occurredAt } = applied;
  if (!isKnownEvent(event)) return null;
  if (event.type === "email.opened") {
    return { svixId, notificationId, kind: "opened", occurredAt, link: null, userAgent: null, ipAddress: null };
  }
  if (event.type === "email.clicked") {
    const { link, userAgent, ipAddress } = event.data.click;
    return {
      svixId,
      notificationId,
      kind: "clicked",
      occurredAt,
      link,
      userAgent: userAgent ?? null,
      ipAddress: ipAddress ?? null,
    };
  }
  return null;
}

/**
 * Record the engagement of newly applied events and re-project every notification they touch.
 * `before` lists the events those notifications had applied before this transaction.
 */
export async function applyToNotifications(
  client: SqlClient,
  applied: AppliedEvent[],
  before: AppliedRef[],
  cache: ParsedEventCache,
  resetSoftBounces: string[] = [],
): Promise<void> {
  for (const { svixId, event } of applied) cache.set(svixId, event);
  const touched = new Set(applied.map((row) => row.notificationId));
  const projections = await projectRefs(client, touched, [...before, ...applied], cache);
  const engagement = applied.map(engagementRow).filter((row): row is EngagementRow => row !== null);
  await reconcileStore.saveChanges(client, { engagement, projections, resetSoftBounces });
}
