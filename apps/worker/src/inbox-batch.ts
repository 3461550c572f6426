// One inbox job: the webhooks of one API micro-batch on one shard. Outcomes stay per event:
// - each event goes to the reconciler on its own (which gathers events of many jobs into one
//   transaction, and retries a failed transaction event by event);
// - an event that can never apply (unreadable, or data PostgreSQL refuses) is dead-lettered alone
//   and the rest of the batch applies;
// - a transient error fails the job, to be retried; the retry holds only the events this attempt
//   did not apply (applying one again would change nothing, but it would cost the work again).
import type { SqlPool } from "@mailstate/db";
import { inboxEventPayload } from "@mailstate/queue";
import { inSpan, sampledTraceId, startEventSpan } from "@mailstate/tracing";
import type { Job } from "bullmq";
import { recordEventDeadLetter } from "./dead-letters.ts";
import type { Reconciler } from "./reconcile/reconciler.ts";
import { reconcileOrDeadLetter } from "./reconcile-or-dead-letter.ts";

export type BatchOutcomes = Record<string, number>;

/** One event of the job, in its own span: parsed, then through the reconciler's shared batch. */
async function reconcileJobEvent(reconciler: Reconciler, sql: SqlPool, job: Job, value: unknown, index: number) {
  const attempt = job.attemptsMade + 1;
  const parsed = inboxEventPayload.safeParse(value);
  if (!parsed.success) {
    const error = `invalid inbox.batch event ${index}: ${parsed.error.message}`;
    await recordEventDeadLetter(sql, job, value, index, { cause: "unreadable_payload", error });
    return { outcome: "dead_lettered" };
  }
  const { svixId, receivedAt, event, traceparent } = parsed.data;
  // With tracing on, a span in the webhook's own trace (its parent the API's request).
  const end = startEventSpan(`apply ${String(event.type)}`, traceparent, () => ({
    "mailstate.svix_id": svixId,
    "mailstate.event_type": String(event.type),
    "mailstate.email_id": emailIdOf(event),
    "mailstate.job_id": job.id,
  }));
  try {
    const result = await reconcileOrDeadLetter(
      reconciler,
      sql,
      { svixId, receivedAt: new Date(receivedAt), raw: withTraceparent(event, traceparent) },
      attempt,
    );
    end({ "mailstate.outcome": result.outcome });
    return result;
  } catch (error) {
    end({ "mailstate.outcome": "retry" });
    throw error;
  }
}

/**
 * The event as the log keeps it: with the traceparent of the request that brought it
 * (`mailstate.traceparent`) when its trace was kept, so that the support page can link to the
 * trace and later work on the event (a parked one's replay, the outbound message) can join it.
 */
function withTraceparent(event: Record<string, unknown>, traceparent: string | undefined): Record<string, unknown> {
  if (!traceparent || !sampledTraceId(traceparent)) return event;
  const mark = typeof event.mailstate === "object" && event.mailstate !== null ? event.mailstate : {};
  return { ...event, mailstate: { ...mark, traceparent } };
}

/** `data.email_id` of a raw event, when it has one. */
function emailIdOf(event: Record<string, unknown>): string | undefined {
  const data = event.data as { email_id?: unknown } | null | undefined;
  return typeof data?.email_id === "string" ? data.email_id : undefined;
}

/** The traceparents the batch's events carry (with tracing on). */
function traceparentsOf(events: unknown[]): (string | undefined)[] {
  return events.map((value) => {
    const traceparent = (value as { traceparent?: unknown } | null)?.traceparent;
    return typeof traceparent === "string" ? traceparent : undefined;
  });
}

/** Apply every event of a batch job; answers how many had each outcome, or throws to retry what is left. */
export async function reconcileBatchJob(
  reconciler: Reconciler,
  sql: SqlPool,
  job: Job,
  events: unknown[],
): Promise<BatchOutcomes> {
  // One span for the job, linked to each webhook's trace: a batch belongs to many traces.
  const settled = await inSpan(
    "inbox.batch",
    () => ({
      attributes: { "mailstate.job_id": job.id ?? "", "mailstate.batch_size": events.length },
      links: traceparentsOf(events),
    }),
    () => Promise.allSettled(events.map((value, index) => reconcileJobEvent(reconciler, sql, job, value, index))),
  );
  const outcomes: BatchOutcomes = {};
  const left: unknown[] = [];
  let failure: unknown;
  settled.forEach((result, index) => {
    if (result.status === "fulfilled") {
      outcomes[result.value.outcome] = (outcomes[result.value.outcome] ?? 0) + 1;
    } else {
      left.push(events[index]);
      failure ??= result.reason;
    }
  });
  if (left.length === 0) return outcomes;
  // While Redis is away too the job keeps every event: the retry applies the applied ones as no-ops.
  if (left.length < events.length) await job.updateData({ ...job.data, events: left }).catch(() => undefined);
  throw failure;
}
