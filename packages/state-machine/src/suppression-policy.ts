// Which addresses an event suppresses, and which soft-bounce counters it
// touches. Pure: the worker keeps the counters and writes the suppressions.
import { isEmailEvent, type ResendEvent, recipientsOf } from "@mailstate/resend-events";

/**
 * Every reason an address can be on the suppression list: the one list, which the /v1 schemas and the
 * ops CLI import and the database enum spells the same (the SDK keeps a copy, checked by a test).
 */
export const SUPPRESSION_REASONS = ["hard_bounce", "soft_bounce_threshold", "complaint", "manual"] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];
/** The reasons this policy derives from events; `manual` is only ever written by hand. */
export type PolicySuppressionReason = Exclude<SuppressionReason, "manual">;

export interface SuppressionPolicy {
  /** Transient bounces in a row (no delivery between them) that suppress an address. */
  softBounceThreshold: number;
}

export const DEFAULT_SOFT_BOUNCE_THRESHOLD = 3;
export const DEFAULT_SUPPRESSION_POLICY: Readonly<SuppressionPolicy> = Object.freeze({
  softBounceThreshold: DEFAULT_SOFT_BOUNCE_THRESHOLD,
});

export interface SuppressionPlan {
  /** Suppress these now. */
  suppress: { email: string; reason: PolicySuppressionReason }[];
  /** Increment these addresses' soft-bounce counters, then check `reachesSoftBounceThreshold`. */
  countSoftBounce: string[];
  /** Reset these addresses' soft-bounce counters to zero. */
  resetSoftBounce: string[];
}

/**
 * The key addresses are stored and compared under: trimmed, lower-cased, and
 * the bare address when written `Name <address>` (the last `<…>`, when the
 * text ends with it). The one rule: the API, the ops CLI and the Resend
 * stand-in import it; the SDK keeps a copy that test/sdk-copies.test.ts checks.
 */
export function normalizeEmail(address: string): string {
  const trimmed = address.trim();
  const angled = /<([^<>]*)>$/.exec(trimmed);
  return (angled?.[1] ?? trimmed).trim().toLowerCase();
}

/**
 * What /v1 takes as an address once normalized: one `@`, no space, no `<>,;`. Deliberately loose
 * (addresses with `%`, `_`, `+` or quotes are real); the API and the ops CLI's `erase` check by it.
 */
export const EMAIL_ADDRESS = /^[^\s@<>,;]+@[^\s@<>,;]+$/;

/**
 * - `email.bounced`, `Permanent`: suppress every recipient (`hard_bounce`);
 * - `email.bounced`, `Transient`: count a soft bounce for every recipient;
 * - `email.bounced`, `Undetermined`: nothing (the caller logs it);
 * - `email.complained`: suppress every recipient (`complaint`), always;
 * - `email.delivered`: reset the recipients' soft-bounce counters, so only
 *   bounces in a row reach the threshold;
 * - anything else: nothing.
 *
 * "Every recipient" is the event's whole `to` list, normalized, once each:
 * Resend does not say which recipient of a multi-recipient email bounced.
 */
export function planSuppressions(
  event: ResendEvent,
  policy: SuppressionPolicy = DEFAULT_SUPPRESSION_POLICY,
): SuppressionPlan {
  assertValidPolicy(policy);
  const plan: SuppressionPlan = { suppress: [], countSoftBounce: [], resetSoftBounce: [] };
  if (!isEmailEvent(event)) return plan;
  const recipients = [...new Set(recipientsOf(event).map(normalizeEmail))].filter((email) => email !== "");
  switch (event.type) {
    case "email.bounced":
      if (event.data.bounce.type === "Permanent") {
        plan.suppress = recipients.map((email) => ({ email, reason: "hard_bounce" }));
      } else if (event.data.bounce.type === "Transient") {
        plan.countSoftBounce = recipients;
      }
      return plan;
    case "email.complained":
      plan.suppress = recipients.map((email) => ({ email, reason: "complaint" }));
      return plan;
    case "email.delivered":
      plan.resetSoftBounce = recipients;
      return plan;
    default:
      return plan;
  }
}

/** Whether an address whose soft-bounce counter now reads `countAfterIncrement` is to be suppressed (`soft_bounce_threshold`). */
export function reachesSoftBounceThreshold(
  countAfterIncrement: number,
  policy: SuppressionPolicy = DEFAULT_SUPPRESSION_POLICY,
): boolean {
  assertValidPolicy(policy);
  return countAfterIncrement >= policy.softBounceThreshold;
}

function assertValidPolicy(policy: SuppressionPolicy): void {
  if (!Number.isInteger(policy.softBounceThreshold) || policy.softBounceThreshold < 1) {
    throw new RangeError(`softBounceThreshold must be a positive integer, got ${policy.softBounceThreshold}`);
  }
}
