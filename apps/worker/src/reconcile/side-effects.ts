// What an event does to addresses besides being logged: bounces and complaints suppress, transient
// bounces count toward a run, deliveries end one. It runs exactly once per event because its
// trigger happens once: the row's first insert into the log.
import { type BatchWrite, type SoftBounceReset, type SqlClient, softBounces, suppressions } from "@mailstate/db";
import type { ResendEvent } from "@mailstate/resend-events";
import {
  planSuppressions,
  reachesSoftBounceThreshold,
  type SuppressionPolicy,
  type SuppressionReason,
} from "@mailstate/state-machine";

export interface LoggedEvent {
  svixId: string;
  event: ResendEvent;
  occurredAt: Date;
}

type SuppressionStep =
  | { kind: "suppress"; email: string; reason: SuppressionReason; source: LoggedEvent }
  | { kind: "soft_bounce"; email: string; source: LoggedEvent }
  | { kind: "reset"; email: string; source: LoggedEvent };

function stepsOf(logged: LoggedEvent[], policy: SuppressionPolicy): SuppressionStep[] {
  const steps: SuppressionStep[] = [];
  for (const source of logged) {
    const plan = planSuppressions(source.event, policy);
    for (const { email, reason } of plan.suppress) steps.push({ kind: "suppress", email, reason, source });
    for (const email of plan.countSoftBounce) steps.push({ kind: "soft_bounce", email, source });
    for (const email of plan.resetSoftBounce) steps.push({ kind: "reset", email, source });
  }
  // Per address in event time: a run is counted in the order its bounces happened.
  return steps.sort(
    (a, b) => a.email.localeCompare(b.email) || a.source.occurredAt.getTime() - b.source.occurredAt.getTime(),
  );
}

async function runStep(client: SqlClient, step: SuppressionStep, policy: SuppressionPolicy): Promise<void> {
  const { svixId, event, occurredAt } = step.source;
  const metadata = { eventType: event.type, occurredAt: occurredAt.toISOString() };
  if (step.kind === "reset") {
    await softBounces.reset(client, [{ email: step.email, at: occurredAt }]);
  } else if (step.kind === "suppress") {
    await suppressions.add(client, { email: step.email, reason: step.reason, sourceEventId: svixId, metadata });
  } else {
    const count = await softBounces.count(client, step.email, svixId, occurredAt);
    if (reachesSoftBounceThreshold(count, policy)) {
      await suppressions.add(client, {
        email: step.email,
        reason: "soft_bounce_threshold",
        sourceEventId: svixId,
        metadata: { ...metadata, consecutiveSoftBounces: count },
      });
    }
  }
}

/**
 * Bounces and complaints suppress their recipients whether or not a notification is recorded yet:
 * the address is what bounced. Answers the write it leaves to the caller (the resets of addresses
 * that were only delivered to), to run with the batch's other writes. Every address the batch touches is locked first, in one order for
 * all batches, so two batches over the same addresses queue rather than deadlock.
 */
export async function applySuppressionPolicy(
  client: SqlClient,
  logged: LoggedEvent[],
  policy: SuppressionPolicy,
): Promise<BatchWrite[]> {
  const steps = stepsOf(logged, policy);
  if (steps.length === 0) return [];
  await suppressions.lockAddresses(
    client,
    steps.map((step) => step.email),
  );
  // Deliveries are the common case: addresses with nothing but resets in this batch are reset
  // together, with the batch's last writes (no other step touches them); the others step by step, in order.
  const countedHere = new Set(steps.filter((step) => step.kind !== "reset").map((step) => step.email));
  const resetOnly = new Map<string, Date>();
  for (const step of steps) {
    if (countedHere.has(step.email)) await runStep(client, step, policy);
    else {
      const latest = resetOnly.get(step.email);
      if (!latest || step.source.occurredAt > latest) resetOnly.set(step.email, step.source.occurredAt);
    }
  }
  const resets: SoftBounceReset[] = [...resetOnly].map(([email, at]) => ({ email, at }));
  const write = softBounces.resetting(resets);
  return write ? [write] : [];
}
