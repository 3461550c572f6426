// What an event does besides being logged. Each runs exactly once per event because its trigger
// happens once: the row's first insert (suppressions) or its flip to `applied` (engagement, state).
import { type EngagementRow, reconcileStore, type SoftBounceReset, type SqlClient } from "@mailstate/db";
import { isKnownEvent, type ResendEvent } from "@mailstate/resend-events";
import {
  planSuppressions,
  reachesSoftBounceThreshold,
  type SuppressionPolicy,
  type SuppressionReason,
} from "@mailstate/state-machine";
import type { ParsedEventCache } from "./event-cache.ts";
import { type AppliedRef, projectLocked } from "./project.ts";

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
 * the address is what bounced. Every address the batch touches is locked first, in one order for
 * all batches, so two batches over the same addresses queue rather than deadlock.
 */
export async function applySuppressionPolicy(
  client: SqlClient,
  logged: LoggedEvent[],
  policy: SuppressionPolicy,
): Promise<{ resetSoftBounces: SoftBounceReset[] }> {
  const steps: SuppressionStep[] = [];
  for (const source of logged) {
    const plan = planSuppressions(source.event, policy);
    for (const { email, reason } of plan.suppress) steps.push({ kind: "suppress", email, reason, source });
    for (const email of plan.countSoftBounce) steps.push({ kind: "soft_bounce", email, source });
    for (const email of plan.resetSoftBounce) steps.push({ kind: "reset", email, source });
  }
  steps.sort((a, b) => a.email.localeCompare(b.email) || a.source.occurredAt.getTime() - b.source.occurredAt.getTime());
  await reconcileStore.lockAddresses(client, [...new Set(steps.map((step) => step.email))]);
  // Deliveries are the common case: addresses with nothing but resets in this batch are answered
  // to the caller, which resets them in the batch's final statement (no other step touches them).
  const countedHere = new Set(steps.filter((step) => step.kind !== "reset").map((step) => step.email));
  const resetOnly = new Map<string, Date>();
  for (const step of steps) {
    if (countedHere.has(step.email)) continue;
    const latest = resetOnly.get(step.email);
    if (!latest || step.source.occurredAt > latest) resetOnly.set(step.email, step.source.occurredAt);
  }
  for (const step of steps.filter((candidate) => countedHere.has(candidate.email))) {
    const { svixId, event, occurredAt } = step.source;
    const metadata = { eventType: event.type, occurredAt: occurredAt.toISOString() };
    if (step.kind === "reset") {
      await reconcileStore.resetSoftBounces(client, [{ email: step.email, at: occurredAt }]);
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
  return { resetSoftBounces: [...resetOnly].map(([email, at]) => ({ email, at })) };
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
 * `before` lists the delivery events those notifications had applied before this transaction
 * (appendAndAdopt leaves out opens and clicks; their counts come from the stored projection).
 */
export async function applyToNotifications(
  client: SqlClient,
  applied: AppliedEvent[],
  before: AppliedRef[],
  cache: ParsedEventCache,
  resetSoftBounces: SoftBounceReset[] = [],
): Promise<void> {
  for (const { svixId, event } of applied) cache.set(svixId, event);
  const touched = new Set(applied.map((row) => row.notificationId));
  const projections = await projectLocked(client, touched, before, applied, cache);
  const engagement = applied.map(engagementRow).filter((row): row is EngagementRow => row !== null);
  await reconcileStore.saveChanges(client, { engagement, projections, resetSoftBounces });
}
