// What an event does to addresses besides being logged: bounces and complaints suppress, transient
// bounces count toward a run, deliveries end one, each on one suppression list (the event's
// tenant's in tenant scope, else the null list). It runs exactly once per event because its
// trigger happens once: the row's first insert into the log, or in tenant scope, where an event's
// list is its notification's tenant, the moment it is applied to its notification.
import { type BatchWrite, type SoftBounceReset, type SqlClient, softBounces, suppressions } from "@mailstate/db";
import type { ResendEvent } from "@mailstate/resend-events";
import type { SuppressionScope } from "@mailstate/runtime";
import {
  planSuppressions,
  reachesSoftBounceThreshold,
  type SuppressionPolicy,
  type SuppressionReason,
} from "@mailstate/state-machine";

/** The suppression policy, and the scope it writes in (SUPPRESSION_SCOPE). */
export interface SuppressionRules extends SuppressionPolicy {
  scope: SuppressionScope;
}

export interface LoggedEvent {
  svixId: string;
  event: ResendEvent;
  occurredAt: Date;
}

/** An event with the suppression list its side effects write to (null: the null list). */
export interface ListedEvent extends LoggedEvent {
  list: string | null;
}

type SuppressionStep =
  | { kind: "suppress"; email: string; reason: SuppressionReason; source: ListedEvent }
  | { kind: "soft_bounce"; email: string; source: ListedEvent }
  | { kind: "reset"; email: string; source: ListedEvent };

/** An address on one list: what a run of soft bounces is counted for. */
const runKey = (step: SuppressionStep) => JSON.stringify([step.source.list, step.email]);

function stepsOf(logged: ListedEvent[], policy: SuppressionPolicy): SuppressionStep[] {
  const steps: SuppressionStep[] = [];
  for (const source of logged) {
    const plan = planSuppressions(source.event, policy);
    for (const { email, reason } of plan.suppress) steps.push({ kind: "suppress", email, reason, source });
    for (const email of plan.countSoftBounce) steps.push({ kind: "soft_bounce", email, source });
    for (const email of plan.resetSoftBounce) steps.push({ kind: "reset", email, source });
  }
  // Per address and list in event time: a run is counted in the order its bounces happened.
  return steps.sort(
    (a, b) =>
      a.email.localeCompare(b.email) ||
      runKey(a).localeCompare(runKey(b)) ||
      a.source.occurredAt.getTime() - b.source.occurredAt.getTime(),
  );
}

async function runStep(client: SqlClient, step: SuppressionStep, policy: SuppressionPolicy): Promise<void> {
  const { svixId, event, occurredAt, list: tenant } = step.source;
  const { email } = step;
  const metadata = { eventType: event.type, occurredAt: occurredAt.toISOString() };
  if (step.kind === "reset") {
    await softBounces.reset(client, [{ email, tenant, at: occurredAt }]);
  } else if (step.kind === "suppress") {
    await suppressions.add(client, { email, tenant, reason: step.reason, sourceEventId: svixId, metadata });
  } else {
    const count = await softBounces.count(client, { email, tenant }, svixId, occurredAt);
    if (reachesSoftBounceThreshold(count, policy)) {
      await suppressions.add(client, {
        email,
        tenant,
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
  logged: ListedEvent[],
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
  const countedHere = new Set(steps.filter((step) => step.kind !== "reset").map(runKey));
  const resetOnly = new Map<string, SoftBounceReset>();
  for (const step of steps) {
    if (countedHere.has(runKey(step))) await runStep(client, step, policy);
    else {
      const latest = resetOnly.get(runKey(step));
      if (!latest || step.source.occurredAt > latest.at)
        resetOnly.set(runKey(step), { email: step.email, tenant: step.source.list, at: step.source.occurredAt });
    }
  }
  const resets = [...resetOnly.values()];
  const write = softBounces.resetting(resets);
  return write ? [write] : [];
}
