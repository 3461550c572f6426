// What the /v1 tests of notifications share: a body to record, unique labels, the replay jobs the
// API enqueues, and an event parked for an email id, as the worker parks one.
import { randomUUID } from "node:crypto";
import { events, withSqlTransaction } from "@mailstate/db";
import { eventFor, newSvixId } from "@mailstate/test-support";
import type { MailstateStack } from "../../test/testing.ts";

export const unique = (label: string) => `${label}-${randomUUID()}`;

/** A body for POST /v1/notifications; `overrides` replace or add fields. */
export function notification(overrides: Record<string, unknown> = {}) {
  return { to: "Ada <Ada@Example.com>", from: "Acme <hello@acme.test>", subject: "Reset your password", ...overrides };
}

/** Replay jobs in the inbox; the tests run no worker, so every job enqueued is still there. */
export async function replayJobs(api: MailstateStack) {
  const jobs = await api.queues.inbox.getJobs(["waiting", "delayed", "prioritized", "active", "completed"]);
  return jobs.filter((job) => job.name === "inbox.replay-email");
}

export async function replayJobsFor(api: MailstateStack, emailId: string) {
  return (await replayJobs(api)).filter((job) => job.data.emailId === emailId);
}

/**
 * An event of this email id logged unmatched, as the worker logs one that arrives before any
 * notification carries its id (its own statement, appendAndAdopt, in a transaction of its own).
 */
export async function park(api: MailstateStack, emailId: string): Promise<void> {
  const body = eventFor("email.sent", emailId, 1);
  await withSqlTransaction(api.sql, (client) =>
    events.appendAndAdopt(
      client,
      [
        {
          svixId: newSvixId(),
          type: body.type,
          occurredAt: new Date(body.created_at),
          ownTime: true,
          receivedAt: new Date(),
          emailId,
          payload: body,
          notificationId: null,
          status: "unmatched",
        },
      ],
      { emailIds: [], notificationIds: [] },
    ),
  );
}
