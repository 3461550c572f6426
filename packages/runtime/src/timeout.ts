// Bound a promise by a deadline, so a slow or unreachable dependency (PostgreSQL, Redis) cannot hang
// a request, a health check or a command. The one copy: the API, the db and queue packages import it.

export class TimeoutError extends Error {
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
  ) {
    super(`${what} took longer than ${timeoutMs} ms`);
    this.name = "TimeoutError";
  }
}

/** Rejects with TimeoutError after `timeoutMs`; the work itself is not cancelled. */
export async function withTimeout<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new TimeoutError(what, timeoutMs)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `read` at most once at a time, its answer shared by every caller while it runs (the gauges of one
 * scrape), bounded by `timeoutMs`: undefined when it fails or runs late (a stale figure would read as fine).
 */
export function sharedReading<T>(
  read: () => Promise<T>,
  timeoutMs: number,
  what: string,
): () => Promise<T | undefined> {
  let reading: Promise<T | undefined> | undefined;
  return () => {
    reading ??= withTimeout(read(), timeoutMs, what)
      .catch(() => undefined)
      .finally(() => {
        reading = undefined;
      });
    return reading;
  };
}
