// POST /v1/notifications/:id/cancel: cancel a scheduled send at Resend (emails.cancel), then record
// the outcome in the event log as Resend reports it, `email.failed` with the reason `canceled`,
// which the worker folds to the final state `canceled`. The event goes through the inbox like a
// webhook, so the log stays the one source of truth and the outbound `notification.state_changed`,
// the timeline and the rollups see it as they see any event.
import { type Db, type Notification, notificationReads } from "@mailstate/db";
import { addInboxBatch, type Queues } from "@mailstate/queue";
import { createResendClient, NOT_FOUND, ResendCallError, type ResendClient } from "@mailstate/resend-api";
import { type Logger, withTimeout } from "@mailstate/runtime";
import { Router } from "express";
import { AppError } from "../http/problems.ts";
import { canSee, principalOf } from "./principal.ts";
import { notificationIdParams } from "./schemas/requests.ts";
import { parseRequest } from "./validate.ts";

export interface CancelRouteDeps {
  db: Db;
  queues: Queues;
  logger: Logger;
  resend: { apiKey: string | undefined; baseUrl: string | undefined; timeoutMs: number };
}

/** States a send can still be cancelled in: scheduled, or recorded before Resend's email.scheduled arrived. */
const CANCELLABLE = new Set(["recorded", "scheduled"]);
const ENQUEUE_TIMEOUT_MS = 5_000;

/** The svix-id of the cancel's event: one per email, so a repeated cancel logs it once. */
const cancelSvixId = (emailId: string) => `mailstate-cancel_${emailId}`;

/** The event that records a cancel: what Resend's own webhook for it carries, marked as mailstate's. */
function canceledEvent(row: Notification & { resendEmailId: string }, at: Date): Record<string, unknown> {
  return {
    type: "email.failed",
    created_at: at.toISOString(),
    data: {
      email_id: row.resendEmailId,
      created_at: row.createdAt.toISOString(),
      from: row.from,
      to: row.recipients,
      subject: row.subject,
      failed: { reason: "canceled" },
    },
    mailstate: { source: "cancel" },
  };
}

export function cancelRoutes({ db, queues, logger, resend }: CancelRouteDeps): Router {
  const router = Router();
  const client: ResendClient | null = resend.apiKey
    ? createResendClient({ apiKey: resend.apiKey, baseUrl: resend.baseUrl, timeoutMs: resend.timeoutMs })
    : null;

  /** Whether Resend says the email is cancelled already (a cancel that went through before). */
  async function canceledAtResend(emailId: string): Promise<boolean> {
    const email = await client?.getEmail(emailId).catch(() => null);
    return email !== null && email !== undefined && email !== NOT_FOUND && email.last_event === "canceled";
  }

  router.post("/notifications/:id/cancel", async (req, res) => {
    const { id } = parseRequest(notificationIdParams, req.params, "params");
    const row = await notificationReads.findById(db, id);
    if (!row || !canSee(principalOf(res), row.tenant)) throw new AppError("not_found", `no notification has id ${id}`);
    if (!client)
      throw new AppError("resend_not_configured", "cancelling a send calls Resend's API: set RESEND_API_KEY");
    const emailId = row.resendEmailId;
    if (emailId === null)
      throw new AppError("conflict", `notification ${id} has no resendEmailId: Resend never accepted it`);
    if (row.state === "canceled") return res.status(202).json({ id, resendEmailId: emailId, canceled: true });
    if (!CANCELLABLE.has(row.state))
      throw new AppError(
        "conflict",
        `notification ${id} is ${row.state}, not scheduled: only a scheduled send can be cancelled`,
      );

    try {
      await client.cancelEmail(emailId);
    } catch (error) {
      if (!(error instanceof ResendCallError)) throw error;
      if (error.transient) {
        res.set("Retry-After", "5");
        throw new AppError("resend_unavailable", `Resend did not cancel it: ${error.message}`);
      }
      if (error.unauthorized) throw new AppError("resend_refused", `Resend refused RESEND_API_KEY (${error.status})`);
      // Refused because it is no longer scheduled: sent already, or cancelled by an earlier call.
      if (!(await canceledAtResend(emailId)))
        throw new AppError("conflict", `Resend did not cancel notification ${id}: ${error.message}`);
    }

    const at = new Date();
    await withTimeout(
      addInboxBatch(queues, [
        {
          svixId: cancelSvixId(emailId),
          receivedAt: at.toISOString(),
          event: canceledEvent({ ...row, resendEmailId: emailId }, at),
        },
      ]),
      ENQUEUE_TIMEOUT_MS,
      "recording the cancel",
    ).catch((error: unknown) => {
      // Cancelled at Resend: a retry of this request records it (Resend answers "canceled" then), as
      // does the sweeper (last_event canceled).
      logger.warn(
        { notificationId: id, err: error instanceof Error ? error.message : String(error) },
        "cancel not recorded",
      );
      res.set("Retry-After", "5");
      throw new AppError("queue_unavailable", "cancelled at Resend, but not recorded yet: retry to record it");
    });
    logger.info({ notificationId: id, emailId }, "scheduled send cancelled");
    res.status(202).json({ id, resendEmailId: emailId, canceled: true });
  });

  return router;
}
