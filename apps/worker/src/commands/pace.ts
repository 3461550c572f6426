// How the CLI's commands call Resend: within RESEND_API_RPS, taking each call's slot from the rate
// limiter of the worker's `resend` queue (in Redis), so that a command run beside the workers does
// not add its calls to theirs; and again after a transient failure (429, 5xx, no answer) with
// exponential backoff, as the worker's `resend` queue does.
import { rateLimitSlot, resendLimiter } from "@mailstate/queue";
import { ResendCallError } from "@mailstate/resend-api";
import type { Context } from "./context.ts";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits for a slot of the `resend` queue's limiter, shared with every worker and command. */
export async function resendPace(context: Context): Promise<() => Promise<void>> {
  const [redis, queues] = [await context.redis(), await context.queues()];
  return rateLimitSlot(redis, queues.resend, resendLimiter(context.env.RESEND_API_RPS));
}

export interface BackoffOptions {
  /** Tries in all (default 6: waits of 0.5, 1, 2, 4 and 8 s between them). */
  attempts?: number;
  firstDelayMs?: number;
  /** Told of each transient failure before its wait. */
  onRetry?: (error: ResendCallError, delayMs: number) => void;
}

/** A paced call, tried again after a transient failure; the last failure, or a permanent one, is thrown. */
export async function withBackoff<T>(
  pace: () => Promise<void>,
  call: () => Promise<T>,
  { attempts = 6, firstDelayMs = 500, onRetry }: BackoffOptions = {},
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    await pace();
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof ResendCallError) || !error.transient || attempt >= attempts) throw error;
      const delayMs = firstDelayMs * 2 ** (attempt - 1);
      onRetry?.(error, delayMs);
      await sleep(delayMs);
    }
  }
}
