// The jobs of the `resend` queue (one call to Resend's API each, behind the queue's rate limiter)
// and the scheduled pass that queues the sweeper's polls and the delivery audit.
import { addJobs, type JobPayload, jobIdFor, type Queues } from "@mailstate/queue";
import { NOT_FOUND, ResendCallError } from "@mailstate/resend-api";
import { UnrecoverableError } from "bullmq";
import { checkEmail, counted, failedDeliveries, queueSweep, replayDelivery, type SweeperDeps } from "./sweeper.ts";

/** What the sweeper needs, and the queues its pass adds the calls to. */
export interface ResendJobsDeps extends SweeperDeps {
  queues: Queues;
}

/** In a job: a transient failure is rethrown for BullMQ's backoff, a permanent one ends the job. */
function asJobError(error: unknown): Error {
  if (error instanceof ResendCallError && !error.transient) return new UnrecoverableError(error.message);
  return error instanceof Error ? error : new Error(String(error));
}

/** Run a call; a permanent failure ends the job, a transient one is retried by BullMQ. */
async function job<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw asJobError(error);
  }
}

export function createResendJobs(deps: ResendJobsDeps) {
  const sweeper: SweeperDeps = deps;
  const { client, logger } = deps;
  return {
    sweep: () => queueSweep(deps, { staleAfterMs: deps.staleAfterMs, webhookId: deps.webhookId }),

    getEmail: (payload: JobPayload<"resend.get-email">, final: boolean) =>
      job(() => checkEmail(sweeper, payload)).catch((error: Error) => {
        if (final || error.name === "UnrecoverableError") deps.metrics.sweeperErrors.inc();
        throw error;
      }),

    /** List the failed deliveries and queue a replay of each (one job per message id). */
    auditWebhooks: ({ webhookId }: JobPayload<"resend.audit-webhooks">) =>
      job(async () => {
        const failed = await failedDeliveries(sweeper, webhookId);
        await addJobs(
          deps.queues,
          "resend.replay-webhook",
          failed.map((delivery) => ({
            payload: { webhookId, eventId: delivery.id, type: delivery.type },
            jobId: jobIdFor("replay-webhook", delivery.id),
          })),
        );
        if (failed.length > 0)
          logger.info({ webhookId, failed: failed.length }, "webhook audit: replaying failed deliveries");
        return { failed: failed.length };
      }),

    replayWebhook: ({ webhookId, eventId, type }: JobPayload<"resend.replay-webhook">) =>
      job(async () => {
        const replayed = await replayDelivery(sweeper, webhookId, { id: eventId });
        logger.info({ webhookId, eventId, type, replayed }, "webhook delivery replayed");
        return { replayed };
      }),

    addSuppression: ({ email }: JobPayload<"resend.add-suppression">) =>
      job(async () => {
        await counted(deps, "suppressions.add", client.addSuppression(email));
        return { added: email };
      }),

    /** Already off Resend's list (404) is done. */
    removeSuppression: ({ email }: JobPayload<"resend.remove-suppression">) =>
      job(async () => {
        const removed = await counted(deps, "suppressions.remove", client.removeSuppression(email));
        return { removed: removed !== NOT_FOUND };
      }),

    /** Not a contact of the audience (404) is done: there is nobody to unsubscribe. */
    unsubscribeContact: ({ audienceId, email }: JobPayload<"resend.unsubscribe-contact">) =>
      job(async () => {
        const updated = await counted(deps, "contacts.update", client.unsubscribeContact(audienceId, email));
        return { unsubscribed: updated !== NOT_FOUND };
      }),
  };
}

export type ResendJobs = ReturnType<typeof createResendJobs>;
