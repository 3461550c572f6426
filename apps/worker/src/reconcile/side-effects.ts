// What an event does to addresses besides being logged: bounces and complaints suppress, transient
// bounces count toward a run, deliveries end one, each on one suppression list (the event's
// tenant's in tenant scope, else the null list). It runs exactly once per event because its
// trigger happens once: the row's first insert into the log, or in tenant scope, where an event's
// list is its notification's tenant, the moment it is applied to its notification.
import {
  type BatchWrite,
  type SoftBounceReset,
  type SqlClient,
  type SuppressionSource,
  softBounces,
  suppressions,
} from "@mailstate/db";
import { isKnownEvent, type ResendEvent } from "@mailstate/resend-events";
import type { SuppressionScope } from "@mailstate/runtime";
import {
  normalizeEmail,
  planSuppressions,
  reachesSoftBounceThreshold,
  type SuppressionPolicy,
  type SuppressionReason,
} from "@mailstate/state-machine";

/** The suppression policy, and the scope it writes in (SUPPRESSION_SCOPE). */
export interface SuppressionRules extends SuppressionPolicy {
  scope: SuppressionScope;
  /**
   * Mirror Resend's own list (RESEND_SUPPRESSION_SYNC inbound or both): suppression.added and
   * email.suppressed put the address on the null list with source resend; suppression.removed
   * takes off the rows whose source is resend. Resend's list is account-wide, hence the null list.
   */
  resendList?: boolean;
}

/** A suppression a batch created (not one already there): what outbound sync acts on after the commit. */
export interface CreatedSuppression {
  email: string;
  tenant: string | null;
  reason: SuppressionReason;
  source: SuppressionSource;
  sourceEventId: string;
}

/** The event types that speak of Resend's own list. */
const RESEND_LIST_EVENTS: ReadonlySet<string> = new Set([
  "suppression.added",
  "suppression.removed",
  "email.suppressed",
]);

export function speaksOfResendList(type: string): boolean {
  return RESEND_LIST_EVENTS.has(type);
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
  | { kind: "reset"; email: string; source: ListedEvent }
  | { kind: "resend_added"; email: string; reason: SuppressionReason; source: ListedEvent }
  | { kind: "resend_removed"; email: string; source: ListedEvent };

/** Resend's origin of a suppression as mailstate's reason; an origin Resend adds later reads as manual. */
const REASON_OF_ORIGIN: Record<string, SuppressionReason> = {
  bounce: "hard_bounce",
  complaint: "complaint",
  manual: "manual",
};

/** What an event says of Resend's own list: an address added, or removed. */
function resendListSteps(source: ListedEvent): SuppressionStep[] {
  const { event } = source;
  if (!isKnownEvent(event)) return [];
  if (event.type === "suppression.added" || event.type === "suppression.removed") {
    const email = normalizeEmail(event.data.email);
    // Resend's list is account-wide: the null list, whatever the event's notification.
    const onNull = { ...source, list: null };
    return event.type === "suppression.added"
      ? [{ kind: "resend_added", email, reason: REASON_OF_ORIGIN[event.data.origin ?? ""] ?? "manual", source: onNull }]
      : [{ kind: "resend_removed", email, source: onNull }];
  }
  if (event.type === "email.suppressed")
    return event.data.to.map((address) => ({
      kind: "resend_added" as const,
      email: normalizeEmail(address),
      reason: "manual" as const,
      source: { ...source, list: null },
    }));
  return [];
}

/** An address on one list: what a run of soft bounces is counted for. */
const runKey = (step: SuppressionStep) => JSON.stringify([step.source.list, step.email]);

function stepsOf(logged: ListedEvent[], policy: SuppressionRules): SuppressionStep[] {
  const steps: SuppressionStep[] = [];
  for (const source of logged) {
    if (policy.resendList && speaksOfResendList(source.event.type)) steps.push(...resendListSteps(source));
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

/** Runs one step; answers the suppression it created, if it created one. */
async function runStep(
  client: SqlClient,
  step: SuppressionStep,
  policy: SuppressionPolicy,
): Promise<CreatedSuppression | null> {
  const { svixId, event, occurredAt, list: tenant } = step.source;
  const { email } = step;
  const metadata = { eventType: event.type, occurredAt: occurredAt.toISOString() };
  const created = (reason: SuppressionReason, source: SuppressionSource = "mailstate"): CreatedSuppression => ({
    email,
    tenant,
    reason,
    source,
    sourceEventId: svixId,
  });
  if (step.kind === "reset") {
    await softBounces.reset(client, [{ email, tenant, at: occurredAt }]);
  } else if (step.kind === "suppress") {
    if (await suppressions.add(client, { email, tenant, reason: step.reason, sourceEventId: svixId, metadata }))
      return created(step.reason);
  } else if (step.kind === "resend_added") {
    const origin = isKnownEvent(event) && event.type === "suppression.added" ? (event.data.origin ?? null) : null;
    const added = await suppressions.add(client, {
      email,
      tenant,
      reason: step.reason,
      sourceEventId: svixId,
      metadata: { ...metadata, origin, suppressedByResend: true },
      source: "resend",
    });
    if (added) return created(step.reason, "resend");
    // Already on mailstate's list (its own hard bounce, say): note that Resend's list holds it too.
    await suppressions.markResendListed(client, email, true);
  } else if (step.kind === "resend_removed") {
    await suppressions.removeFromResend(client, email);
    await suppressions.markResendListed(client, email, false);
  } else {
    const count = await softBounces.count(client, { email, tenant }, svixId, occurredAt);
    if (reachesSoftBounceThreshold(count, policy)) {
      const added = await suppressions.add(client, {
        email,
        tenant,
        reason: "soft_bounce_threshold",
        sourceEventId: svixId,
        metadata: { ...metadata, consecutiveSoftBounces: count },
      });
      if (added) return created("soft_bounce_threshold");
    }
  }
  return null;
}

/** What the policy did to a batch's addresses. */
export interface PolicyEffects {
  /** The suppressions it created, for outbound sync to act on after the commit. */
  created: CreatedSuppression[];
  /**
   * The write it leaves to the caller (the resets of addresses that were only delivered to), to run
   * with the batch's other writes.
   */
  writes: BatchWrite[];
}

/** The effects of a run with nothing to do. */
export const noEffects = (): PolicyEffects => ({ created: [], writes: [] });

/** The effects of several runs of the policy in one transaction, in the order they ran. */
export function combineEffects(...runs: PolicyEffects[]): PolicyEffects {
  return { created: runs.flatMap((run) => run.created), writes: runs.flatMap((run) => run.writes) };
}

/**
 * Bounces and complaints suppress their recipients whether or not a notification is recorded yet:
 * the address is what bounced. Every address the batch touches is locked first, in one order for
 * all batches, so two batches over the same addresses queue rather than deadlock.
 */
export async function applySuppressionPolicy(
  client: SqlClient,
  logged: ListedEvent[],
  policy: SuppressionRules,
): Promise<PolicyEffects> {
  const steps = stepsOf(logged, policy);
  if (steps.length === 0) return noEffects();
  await suppressions.lockAddresses(
    client,
    steps.map((step) => step.email),
  );
  // Deliveries are the common case: addresses with nothing but resets in this batch are reset
  // together, with the batch's last writes (no other step touches them); the others step by step, in order.
  const countedHere = new Set(steps.filter((step) => step.kind !== "reset").map(runKey));
  const resetOnly = new Map<string, SoftBounceReset>();
  const created: CreatedSuppression[] = [];
  for (const step of steps) {
    if (countedHere.has(runKey(step))) {
      const made = await runStep(client, step, policy);
      if (made) created.push(made);
    } else {
      const latest = resetOnly.get(runKey(step));
      if (!latest || step.source.occurredAt > latest.at)
        resetOnly.set(runKey(step), { email: step.email, tenant: step.source.list, at: step.source.occurredAt });
    }
  }
  const write = softBounces.resetting([...resetOnly.values()]);
  return { created, writes: write ? [write] : [] };
}
