// Reconciling against Resend's API: the sweeper asks Resend (emails.get) about notifications whose
// webhooks seem lost and appends what it learns to the log; the audit replays the webhook
// deliveries Resend logged as failed. The worker runs each call as a job of the rate-limited
// `resend` queue; `mailstate sweep` runs one pass in its own process.
import { notificationSweep, type ResendCheck, type SqlPool } from "@mailstate/db";
import { addJobs, jobIdFor, type Queues } from "@mailstate/queue";
import { NOT_FOUND, ResendCallError, type ResendClient } from "@mailstate/resend-api";
import type { Logger } from "@mailstate/runtime";
import { isTerminalState } from "@mailstate/state-machine";
import type { WorkerMetrics } from "../metrics.ts";
import type { Reconciler } from "../reconcile/reconciler.ts";
import { observedEvent, type ResendEmail } from "./last-event.ts";

/** Notifications one pass asks Resend about at most, oldest first (the worker's and `mailstate sweep`): the next pass takes the rest. */
export const SWEEP_LIMIT = 1_000;
/** Pages of the delivery log one audit reads (100 messages each), newest first. */
const AUDIT_PAGES = 10;

export interface SweeperDeps {
  sql: SqlPool;
  reconciler: Reconciler;
  client: ResendClient;
  metrics: WorkerMetrics;
  logger: Logger;
  staleAfterMs: number;
  webhookId: string | undefined;
}

/** What asking about one notification did. */
export interface CheckResult {
  notificationId: string;
  emailId: string;
  outcome: ResendCheck["outcome"] | "skipped";
  lastEvent: string | null;
  /** The event appended (or, in a dry run, that would be). */
  appended?: string;
}

/** Ask Resend where one notification's email is; append the event when Resend is ahead. */
export async function checkEmail(
  deps: SweeperDeps,
  { notificationId, emailId }: { notificationId: string; emailId: string },
  { dryRun = false }: { dryRun?: boolean } = {},
): Promise<CheckResult> {
  const state = await notificationSweep.stateOf(deps.sql, notificationId);
  // Final notifications are never asked about (one may have become final since the pass queued it).
  if (state === null || isTerminalState(state)) return { notificationId, emailId, outcome: "skipped", lastEvent: null };
  deps.metrics.sweeperPolls.inc();
  const email = await counted(deps, "emails.get", deps.client.getEmail(emailId));
  const at = new Date();
  if (email === NOT_FOUND) {
    if (!dryRun)
      await notificationSweep.recordResendCheck(deps.sql, notificationId, {
        at: at.toISOString(),
        outcome: "not_found",
        lastEvent: null,
      });
    deps.logger.warn(
      { notificationId, emailId },
      "Resend does not know this email (404): recorded on the notification",
    );
    return { notificationId, emailId, outcome: "not_found", lastEvent: null };
  }
  const observed = observedEvent(email as ResendEmail, state, at);
  const check: ResendCheck = {
    at: at.toISOString(),
    outcome: observed ? "healed" : "current",
    lastEvent: email.last_event,
    ...(observed ? { appended: observed.type } : {}),
  };
  if (!dryRun) {
    if (observed) {
      await deps.reconciler.joinBatch({ svixId: observed.svixId, receivedAt: at, raw: observed.payload });
      deps.metrics.sweeperHeals.inc({ event: observed.type });
      deps.logger.info(
        { notificationId, emailId, from: state, lastEvent: email.last_event, appended: observed.type },
        "healed from Resend's API",
      );
    }
    await notificationSweep.recordResendCheck(deps.sql, notificationId, check);
  }
  return { notificationId, emailId, ...check };
}

/** A failed delivery of the webhook endpoint, as its log lists it. */
export interface FailedDelivery {
  id: string;
  type: string;
  createdAt: string;
}

/** The messages of the endpoint's delivery log that Resend gave up on. */
export async function failedDeliveries(deps: SweeperDeps, webhookId: string): Promise<FailedDelivery[]> {
  const failed: FailedDelivery[] = [];
  let after: string | undefined;
  for (let page = 0; page < AUDIT_PAGES; page += 1) {
    const listed = await counted(deps, "webhooks.events.list", deps.client.listWebhookEvents(webhookId, after));
    if (listed === NOT_FOUND) throw new ResendCallError("webhooks.events.list", 404, `no webhook ${webhookId}`);
    for (const entry of listed.data)
      if (entry.status === "failed") failed.push({ id: entry.id, type: entry.type, createdAt: entry.created_at });
    after = listed.data.at(-1)?.id;
    if (!listed.has_more || !after) break;
  }
  return failed;
}

/** Ask Resend to deliver one message again; it comes back through the verified webhook route. */
export async function replayDelivery(deps: SweeperDeps, webhookId: string, delivery: Pick<FailedDelivery, "id">) {
  const replayed = await counted(
    deps,
    "webhooks.events.replay",
    deps.client.replayWebhookEvent(webhookId, delivery.id),
  );
  if (replayed === NOT_FOUND) return false;
  deps.metrics.webhookReplays.inc();
  return true;
}

/** Count a call's outcome; answers what it answered, rethrows what it threw. */
export async function counted<T>(
  deps: Pick<SweeperDeps, "metrics">,
  call: string,
  pending: Promise<T | typeof NOT_FOUND>,
): Promise<T | typeof NOT_FOUND> {
  try {
    const answer = await pending;
    deps.metrics.resendCalls.inc({ call, outcome: answer === NOT_FOUND ? "not_found" : "ok" });
    return answer;
  } catch (error) {
    const transient = error instanceof ResendCallError && error.transient;
    deps.metrics.resendCalls.inc({ call, outcome: transient ? "retry" : "error" });
    throw error;
  }
}

/**
 * One scheduled pass in the worker: queue a poll per stale notification and, with a webhook id,
 * an audit of its deliveries, on the rate-limited `resend` queue. A notification already waiting
 * there keeps its one job.
 */
export async function queueSweep(
  { sql, queues, logger }: { sql: SqlPool; queues: Queues; logger: Logger },
  { staleAfterMs, webhookId }: { staleAfterMs: number; webhookId: string | undefined },
): Promise<{ polls: number; audit: boolean }> {
  const candidates = await notificationSweep.sweepCandidates(sql, { staleAfterMs, limit: SWEEP_LIMIT });
  await addJobs(
    queues,
    "resend.get-email",
    candidates.map((row) => ({
      payload: { notificationId: row.id, emailId: row.resendEmailId },
      jobId: jobIdFor("poll", row.id),
    })),
  );
  if (webhookId)
    await addJobs(queues, "resend.audit-webhooks", [{ payload: { webhookId }, jobId: jobIdFor("audit", webhookId) }]);
  if (candidates.length > 0)
    logger.info({ polls: candidates.length }, "sweeper: asking Resend about stale notifications");
  return { polls: candidates.length, audit: webhookId !== undefined };
}
