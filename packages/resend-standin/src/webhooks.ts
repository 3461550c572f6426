// Posts each accepted email's lifecycle back as Svix-signed webhooks, the way Resend does it:
// late, out of order, now and then twice, and again with backoff when the endpoint fails.
import { randomBytes } from "node:crypto";
import { Webhook } from "svix";
import type { StoredEmail } from "./index.ts";
import {
  type Lifecycle,
  type LifecycleEventType,
  planLifecycle,
  resolveRates,
  type WebhookRates,
} from "./lifecycle.ts";
import { randomFor } from "./random.ts";

export interface WebhookOptions {
  /** Where to post, e.g. http://127.0.0.1:3000/webhooks/resend. */
  url: string;
  /** The endpoint's signing secret, `whsec_…`. */
  secret: string;
  rates?: Partial<WebhookRates>;
  /** Chance that a webhook is posted a second time with the same svix-id. Default 0.05. */
  duplicateRate?: number;
  /**
   * Each webhook waits a random 0…maxDelayMs after its event happened: when this exceeds the gaps
   * between one email's events (see lifecycleMs), they arrive out of order. Default 250.
   */
  maxDelayMs?: number;
  /** How long one email's events span, from sent to the last click (event time). Default 400. */
  lifecycleMs?: number;
  /** Same seed, same sends → same outcomes, delays and duplicates. Default: random. */
  seed?: number;
  /** Retries after a non-2xx answer or a network error, doubling from baseDelayMs. Default 5 × 100 ms. */
  retry?: { attempts?: number; baseDelayMs?: number };
  /** Per request. Default 5000 ms. */
  timeoutMs?: number;
}

export interface WebhookCounters {
  /** Posts planned, duplicates included. */
  scheduled: number;
  /** HTTP requests made, retries included. */
  posted: number;
  /** Posts the endpoint answered 2xx. */
  delivered: number;
  /** Second posts of an already planned svix-id. */
  duplicates: number;
  /** Requests that failed and were tried again. */
  retried: number;
  /** Webhooks given up on after the last retry. */
  failed: number;
}

/** One finished post of one svix-id (a duplicate is a delivery of its own). */
export interface WebhookDelivery {
  svixId: string;
  type: LifecycleEventType;
  emailId: string;
  duplicate: boolean;
  attempts: number;
  /** The last answer's status; null when the request itself failed. */
  status: number | null;
  ok: boolean;
}

export interface PlannedEmail extends Lifecycle {
  emailId: string;
  svixIds: string[];
}

export interface WebhookSender {
  readonly counters: WebhookCounters;
  /** The lifecycle planned for each accepted email, by Resend email id. */
  readonly plans: Map<string, PlannedEmail>;
  readonly deliveries: WebhookDelivery[];
  /** The account's suppression list, as Resend keeps it: hard-bounced and complained addresses. */
  readonly suppressed: Set<string>;
  schedule(email: StoredEmail): PlannedEmail;
  /** Webhooks waiting for their time or in flight. */
  pending(): number;
  /** Resolves once nothing is pending (every planned post delivered or given up). */
  idle(timeoutMs?: number): Promise<void>;
  reset(): void;
  /** Cancel what is pending and abort what is in flight. */
  close(): void;
}

interface Post {
  svixId: string;
  type: LifecycleEventType;
  emailId: string;
  body: string;
  duplicate: boolean;
}

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Svix message ids look like msg_2Lh9KRb0pzN4LePd3XiA4xFOqTV; random, never seeded, so reruns never collide. */
export function newMessageId(): string {
  return `msg_${[...randomBytes(27)].map((byte) => BASE62[byte % 62]).join("")}`;
}

export function createWebhookSender(options: WebhookOptions): WebhookSender {
  const rates = resolveRates(options.rates);
  const duplicateRate = options.duplicateRate ?? 0.05;
  const maxDelayMs = options.maxDelayMs ?? 250;
  const lifecycleMs = options.lifecycleMs ?? 400;
  const seed = options.seed ?? randomBytes(4).readUInt32LE();
  const retries = options.retry?.attempts ?? 5;
  const baseDelayMs = options.retry?.baseDelayMs ?? 100;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const signer = new Webhook(options.secret);
  const url = new URL(options.url).toString();

  const counters: WebhookCounters = { scheduled: 0, posted: 0, delivered: 0, duplicates: 0, retried: 0, failed: 0 };
  const plans = new Map<string, PlannedEmail>();
  const deliveries: WebhookDelivery[] = [];
  const suppressed = new Set<string>();
  const timers = new Set<NodeJS.Timeout>();
  const abort = new AbortController();
  let inFlight = 0;
  let accepted = 0;
  let closed = false;
  const idleWaiters = new Set<() => void>();

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
    let status: number | null = null;
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
        signal: AbortSignal.any([abort.signal, AbortSignal.timeout(timeoutMs)]),
      });
      status = response.status;
      await response.arrayBuffer().catch(() => undefined);
    } catch {
      status = null;
    } finally {
      inFlight -= 1;
    }
    if (closed) return settle();
    counters.posted += 1;
    const ok = status !== null && status >= 200 && status < 300;
    if (!ok && attemptNo <= retries) {
      counters.retried += 1;
      later(baseDelayMs * 2 ** (attemptNo - 1), () => void attempt(post, attemptNo + 1));
    } else {
      if (ok) counters.delivered += 1;
      else counters.failed += 1;
      const { body: _body, ...rest } = post;
      deliveries.push({ ...rest, attempts: attemptNo, status, ok });
    }
    settle();
  }

  return {
    counters,
    plans,
    deliveries,
    suppressed,
    schedule(email) {
      const random = randomFor(seed, accepted++);
      const acceptedAt = Date.now();
      const lifecycle = planLifecycle(email, { rates, random, acceptedAt, lifecycleMs, suppressed });
      for (const address of lifecycle.suppresses) suppressed.add(address);
      const svixIds: string[] = [];
      for (const event of lifecycle.events) {
        const post: Post = {
          svixId: newMessageId(),
          type: event.type,
          emailId: email.id,
          body: JSON.stringify(event.body),
          duplicate: false,
        };
        svixIds.push(post.svixId);
        const postAt = event.occurredAt + random.between(0, maxDelayMs);
        counters.scheduled += 1;
        later(postAt - Date.now(), () => void attempt(post, 1));
        if (random.next() < duplicateRate) {
          counters.scheduled += 1;
          counters.duplicates += 1;
          later(
            postAt + random.between(0, maxDelayMs) - Date.now(),
            () => void attempt({ ...post, duplicate: true }, 1),
          );
        }
      }
      const plan: PlannedEmail = { ...lifecycle, emailId: email.id, svixIds };
      plans.set(email.id, plan);
      return plan;
    },
    pending,
    idle(timeout) {
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
                idleWaiters.delete(done);
                reject(new Error(`webhooks still pending after ${timeout} ms: ${pending()}`));
              }, timeout);
        idleWaiters.add(done);
      });
    },
    reset() {
      plans.clear();
      deliveries.length = 0;
      suppressed.clear();
      for (const key of Object.keys(counters) as (keyof WebhookCounters)[]) counters[key] = 0;
    },
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
