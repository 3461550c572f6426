// How the CLI's commands call Resend: no faster than RESEND_API_RPS, and again after a transient
// failure (429, 5xx, no answer) with exponential backoff, as the worker's `resend` queue does.
import { ResendCallError } from "@mailstate/resend-api";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits so that calls go out no faster than `rps` a second. */
export function paced(rps: number): () => Promise<void> {
  let next = 0;
  return async () => {
    const wait = next - Date.now();
    if (wait > 0) await sleep(wait);
    next = Math.max(Date.now(), next) + 1_000 / rps;
  };
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
