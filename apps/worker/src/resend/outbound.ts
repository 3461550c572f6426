// What mailstate tells Resend after a batch commits: a suppression it decided itself goes on
// Resend's list (RESEND_SUPPRESSION_SYNC=both), and a hard bounce or complaint unsubscribes the
// contact from the audience (RESEND_AUDIENCE_ID). Jobs of the rate-limited resend queue, retried
// there; queueing them never fails the reconcile. Without either variable this is never called.
import { addJobs, jobIdFor, type Queues } from "@mailstate/queue";
import type { Logger } from "@mailstate/runtime";
import type { CreatedSuppression } from "../reconcile/side-effects.ts";

export interface OutboundSync {
  /** RESEND_SUPPRESSION_SYNC=both: add mailstate's own decisions to Resend's list. */
  pushToResend: boolean;
  /** RESEND_AUDIENCE_ID: unsubscribe hard-bounced and complaining addresses there. */
  audienceId: string | undefined;
}

/** Whether any outbound sync is configured (when not, the reconciler skips it entirely). */
export function outboundEnabled(sync: OutboundSync): boolean {
  return sync.pushToResend || sync.audienceId !== undefined;
}

/** The jobs for what a batch suppressed, queued on the resend queue. */
export async function queueOutbound(
  queues: Queues,
  logger: Logger,
  sync: OutboundSync,
  created: CreatedSuppression[],
): Promise<void> {
  if (created.length === 0) return;
  // Resend learns hard bounces and complaints itself; a soft-bounce run is mailstate's own decision.
  // Only the null list: Resend's list is account-wide, a tenant's list is not.
  const toResend = sync.pushToResend
    ? created.filter(
        (row) => row.source === "mailstate" && row.tenant === null && row.reason === "soft_bounce_threshold",
      )
    : [];
  const { audienceId } = sync;
  const toUnsubscribe = audienceId
    ? created.filter((row) => row.reason === "hard_bounce" || row.reason === "complaint")
    : [];
  try {
    if (toResend.length > 0)
      await addJobs(
        queues,
        "resend.add-suppression",
        toResend.map(({ email }) => ({ payload: { email }, jobId: jobIdFor("add-suppression", email) })),
      );
    if (audienceId && toUnsubscribe.length > 0)
      await addJobs(
        queues,
        "resend.unsubscribe-contact",
        // One job per suppression: the row is created once, by the event that caused it.
        toUnsubscribe.map(({ email, sourceEventId }) => ({
          payload: { audienceId, email },
          jobId: jobIdFor("unsubscribe", `${audienceId}-${email}-${sourceEventId}`),
        })),
      );
  } catch (error) {
    logger.warn(
      { err: error instanceof Error ? error.message : String(error), suppressions: created.length },
      "could not queue the calls that tell Resend of new suppressions",
    );
  }
}
