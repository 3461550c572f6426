// What an event does besides being logged. Each runs exactly once per event because its trigger
// happens once: the row's first insert (suppressions) or its flip to `applied` (engagement, state).
import { type DbClient, engagement, type NewEngagement, notifications, softBounces, suppressions } from "@mailstate/db";
import { isKnownEvent, type ResendEvent } from "@mailstate/resend-events";
import {
  planSuppressions,
  reachesSoftBounceThreshold,
  type SuppressionPolicy,
  type SuppressionReason,
} from "@mailstate/state-machine";
import { computeProjections } from "./project.ts";

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
export async function applySuppressionPolicy(db: DbClient, logged: LoggedEvent[], policy: SuppressionPolicy) {
  const steps: SuppressionStep[] = [];
  for (const source of logged) {
    const plan = planSuppressions(source.event, policy);
    for (const { email, reason } of plan.suppress) steps.push({ kind: "suppress", email, reason, source });
    for (const email of plan.countSoftBounce) steps.push({ kind: "soft_bounce", email, source });
    for (const email of plan.resetSoftBounce) steps.push({ kind: "reset", email, source });
  }
  steps.sort((a, b) => a.email.localeCompare(b.email) || a.source.occurredAt.getTime() - b.source.occurredAt.getTime());
  let suppressed = 0;
  for (const step of steps) {
    const metadata = { eventType: step.source.event.type, occurredAt: step.source.occurredAt.toISOString() };
    if (step.kind === "reset") {
      await softBounces.reset(db, [step.email]);
    } else if (step.kind === "suppress") {
      const added = await suppressions.add(db, {
        email: step.email,
        reason: step.reason,
        sourceEventId: step.source.svixId,
        metadata,
      });
      if (added) suppressed += 1;
    } else {
      const count = await softBounces.increment(db, step.email, step.source.svixId, step.source.occurredAt);
      if (reachesSoftBounceThreshold(count, policy)) {
        const added = await suppressions.add(db, {
          email: step.email,
          reason: "soft_bounce_threshold",
          sourceEventId: step.source.svixId,
          metadata: { ...metadata, consecutiveSoftBounces: count },
        });
        if (added) suppressed += 1;
      }
    }
  }
  return suppressed;
}

function engagementRow(applied: AppliedEvent): NewEngagement | null {
  const { event } = applied;
  if (!isKnownEvent(event)) return null;
  if (event.type === "email.opened") {
    return {
      svixId: applied.svixId,
      notificationId: applied.notificationId,
      kind: "opened",
      occurredAt: applied.occurredAt,
    };
  }
  if (event.type === "email.clicked") {
    return {
      svixId: applied.svixId,
      notificationId: applied.notificationId,
      kind: "clicked",
      occurredAt: applied.occurredAt,
      link: event.data.click.link,
      userAgent: event.data.click.userAgent ?? null,
      ipAddress: event.data.click.ipAddress ?? null,
    };
  }
  return null;
}

/** Record the engagement of newly applied events and re-project every notification they touch. */
export async function applyToNotifications(db: DbClient, applied: AppliedEvent[]): Promise<void> {
  if (applied.length === 0) return;
  await engagement.appendMany(
    db,
    applied.map(engagementRow).filter((row): row is NewEngagement => row !== null),
  );
  const touched = [...new Set(applied.map((row) => row.notificationId))].sort();
  const projections = await computeProjections(db, touched);
  for (const [id, projection] of projections) await notifications.saveProjection(db, id, projection);
}
