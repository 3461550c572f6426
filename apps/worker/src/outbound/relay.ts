// The outbox relay: moves committed outbox rows into the `webhooks` queue, one job per message
// whose id is the message id. A crash between a commit and its enqueue loses nothing (the row is
// still pending at the next pass), and enqueueing twice is one job. Only the first pending
// message of each endpoint and notification (or address) is enqueued, so they arrive in order.
import { outbox, type SqlPool } from "@mailstate/db";
import { addJobs, type Queues } from "@mailstate/queue";
import type { Logger } from "@mailstate/runtime";

/** Messages enqueued per pass at most; the next pass takes the rest. */
const RELAY_BATCH = 500;

export interface Relay {
  /** Run a pass now (after a delivery, so the next message of the notification need not wait). */
  nudge(): void;
  /** Stop passing; waits for a pass in flight. */
  stop(): Promise<void>;
}

export function startRelay({
  sql,
  queues,
  logger,
  intervalMs,
  retryBaseMs,
}: {
  sql: SqlPool;
  queues: Queues;
  logger: Logger;
  /** OUTBOUND_RELAY_INTERVAL_MS. */
  intervalMs: number;
  /** OUTBOUND_RETRY_BASE_MS: the first retry's delay, doubling. */
  retryBaseMs: number;
}): Relay {
  let running: Promise<void> | null = null;
  let again = false;
  const pass = async () => {
    const ids = await outbox.ready(sql, RELAY_BATCH);
    if (ids.length === 0) return;
    await addJobs(
      queues,
      "webhooks.deliver",
      ids.map((messageId) => ({ payload: { messageId }, jobId: messageId })),
      { backoff: { type: "exponential", delay: retryBaseMs } },
    );
  };
  const run = () => {
    if (running) {
      again = true;
      return;
    }
    running = pass()
      .catch((error: Error) => logger.warn({ err: error.message }, "outbox relay pass failed: the next pass retries"))
      .finally(() => {
        running = null;
        if (again) {
          again = false;
          run();
        }
      });
  };
  const timer = setInterval(run, intervalMs);
  timer.unref();
  run();
  return {
    nudge: run,
    async stop() {
      clearInterval(timer);
      again = false;
      await running;
    },
  };
}
