// How one inbox event is applied (the inbox.reconcile job, each event of an inbox.batch job, and
// `mailstate dead-letters retry`): it joins the reconciler's shared batch and answers its outcome.
// Data PostgreSQL refuses for good goes to the dead-letter table instead, since retrying it would
// change nothing; any other error is thrown, to be retried.
import { deadLetters, permanentDataErrorCode, type SqlPool } from "@mailstate/db";
import type { IncomingEvent } from "./reconcile/decode.ts";
import type { Outcome } from "./reconcile/reconcile-events.ts";
import type { Reconciler } from "./reconcile/reconciler.ts";

/**
 * Reconcile one event; one PostgreSQL refuses for good (SQLSTATE classes 22 and 23, races aside) is
 * written to the dead-letter table, with the attempt it failed at.
 */
export async function reconcileOrDeadLetter(
  reconciler: Reconciler,
  sql: SqlPool,
  incoming: IncomingEvent,
  attempt: number,
): Promise<{ outcome: Outcome } | { outcome: "dead_lettered"; errorCode: string }> {
  try {
    return { outcome: await reconciler.joinBatch(incoming) };
  } catch (error) {
    const errorCode = permanentDataErrorCode(error);
    if (errorCode === null) throw error;
    await deadLetters.record(sql, {
      svixId: incoming.svixId,
      body: incoming.raw,
      receivedAt: incoming.receivedAt,
      cause: "permanent_error",
      error: error instanceof Error ? error.message : String(error),
      errorCode,
      attempts: attempt,
    });
    return { outcome: "dead_lettered", errorCode };
  }
}
