// Posts webhooks as Svix does for Resend: signed, each at its time, and again with backoff when the
// endpoint fails. Knows when nothing is left to post; on close, drops what is waiting and aborts
// what is in flight.
import { Webhook } from "svix";

/** One post of a message (a duplicate is a post of its own, with the same svix id). */
export interface Post {
  svixId: string;
  type: string;
  emailId: string;
  body: string;
  duplicate: boolean;
}

/** How one try of a post was answered. */
export interface AttemptResult {
  post: Post;
  /** 1 for the first try. */
  attempt: number;
  /** The answer's status; null when the request itself failed. */
  status: number | null;
  ok: boolean;
  /** Failed, and will be tried again. */
  retrying: boolean;
}

export interface PosterConfig {
  url: string;
  secret: string;
  /** Per request. */
  timeoutMs: number;
  /** Tries after the first, doubling the wait from baseDelayMs. */
  retries: number;
  baseDelayMs: number;
}

export interface WebhookPoster {
  /** Post after `delayMs` (at once when that is past), trying again after a failure. */
  send(post: Post, delayMs: number): void;
  /** Posts waiting for their time or in flight. */
  pending(): number;
  /** Resolves once nothing is pending. */
  idle(timeoutMs?: number): Promise<void>;
  close(): void;
}

export function createWebhookPoster(config: PosterConfig, onAttempt: (result: AttemptResult) => void): WebhookPoster {
  const signer = new Webhook(config.secret);
  const url = new URL(config.url).toString();
  const timers = new Set<NodeJS.Timeout>();
  const abort = new AbortController();
  const idleWaiters = new Set<() => void>();
  let inFlight = 0;
  let closed = false;

  const pending = () => timers.size + inFlight;
  function settle(): void {
    if (pending() > 0) return;
    for (const resolve of idleWaiters) resolve();
    idleWaiters.clear();
  }

  function later(ms: number, run: () => void): void {
    if (closed) return;
    const timer = setTimeout(
      () => {
        timers.delete(timer);
        run();
        settle();
      },
      Math.max(0, ms),
    );
    timers.add(timer);
  }

  async function attempt(post: Post, attemptNo: number): Promise<void> {
    if (closed) return;
    inFlight += 1;
    let status: number | null;
    try {
      status = await postSigned(
        url,
        signer,
        post,
        AbortSignal.any([abort.signal, AbortSignal.timeout(config.timeoutMs)]),
      );
    } finally {
      inFlight -= 1;
    }
    if (closed) return settle();
    const ok = status !== null && status >= 200 && status < 300;
    const retrying = !ok && attemptNo <= config.retries;
    onAttempt({ post, attempt: attemptNo, status, ok, retrying });
    // The retry is pending before settle() looks, so idle() does not resolve between two tries.
    if (retrying) later(config.baseDelayMs * 2 ** (attemptNo - 1), () => void attempt(post, attemptNo + 1));
    settle();
  }

  return {
    send: (post, delayMs) => later(delayMs, () => void attempt(post, 1)),
    pending,
    idle: (timeoutMs) => untilIdle(pending, idleWaiters, timeoutMs),
    close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      abort.abort();
      for (const resolve of idleWaiters) resolve();
      idleWaiters.clear();
    },
  };
}

/** Resolves once `settle` finds nothing pending (at once when nothing is); rejects after `timeout` ms when given. */
function untilIdle(pending: () => number, waiters: Set<() => void>, timeout: number | undefined): Promise<void> {
  if (pending() === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer =
      timeout === undefined
        ? undefined
        : setTimeout(() => {
            waiters.delete(done);
            reject(new Error(`webhooks still pending after ${timeout} ms: ${pending()}`));
          }, timeout);
    waiters.add(done);
  });
}

/** One signed POST: the endpoint's status, or null when the request failed (refused, reset, timed out, aborted). */
async function postSigned(url: string, signer: Webhook, post: Post, signal: AbortSignal): Promise<number | null> {
  try {
    const now = new Date();
    const response = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": "Svix-Webhooks/1.63 (sender-standin; +https://www.svix.com/http-sender/)",
        "svix-id": post.svixId,
        "svix-timestamp": String(Math.floor(now.getTime() / 1000)),
        "svix-signature": signer.sign(post.svixId, now, post.body),
      },
      body: post.body,
      signal,
    });
    await response.arrayBuffer().catch(() => undefined);
    return response.status;
  } catch {
    return null;
  }
}
