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
  /**
   * Chance that a webhook is lost: recorded in the endpoint's delivery log as failed, never posted
   * (an endpoint that was down past Resend's retry window). Default 0.
   */
  lossRate?: number;
}

/** Resend's statuses of one message in a webhook endpoint's delivery log. */
export type WebhookLogStatus = "success" | "pending" | "failed" | "attempting";

/** One message of the endpoint's delivery log (GET /webhooks/:id/events), with its original payload. */
export interface WebhookLogEntry {
  id: string;
  type: string;
  createdAt: string;
  status: WebhookLogStatus;
  body: string;
  emailId: string | null;
  /** Lost on purpose (lossRate): failed without a post. */
  lost: boolean;
  /** Times it was replayed (POST /webhooks/:id/events/:eid/replay). */
  replays: number;
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
  /** Webhooks lost on purpose (lossRate): logged as failed, never posted. */
  lost: number;
  /** Replays asked for through the API. */
  replayed: number;
}

/** One finished post of one svix-id (a duplicate is a delivery of its own). */
export interface WebhookDelivery {
  svixId: string;
  type: string;
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
  /** The endpoint's delivery log, by svix id, in the order messages were created. */
  readonly log: Map<string, WebhookLogEntry>;
  schedule(email: StoredEmail): PlannedEmail;
  /** Post one event (suppression.added, …) after `delayMs` (default now), logged like the others; answers its svix id. */
  emit(type: string, data: Record<string, unknown>, delayMs?: number): string;
  /** Post a logged message again with its svix id, as Resend's replay does; false when unknown. */
  replay(svixId: string): boolean;
  /** The last event of the email's lifecycle that has happened by `now` (email.sent, …), if any. */
  lastEventOf(emailId: string, now?: number): LifecycleEventType | null;
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
  type: string;
  emailId: string;
  body: string;
  duplicate: boolean;
}

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Svix message ids look like msg_2Lh9KRb0pzN4LePd3XiA4xFOqTV; random, never seeded, so reruns never collide. */
export function newMessageId(): string {
  return `msg_${[...randomBytes(27)].map((byte) => BASE62[byte % 62]).join("")}`;
}

/** Every webhook counter at zero: a new sender's, and what a stand-in without webhooks answers. */
export function noWebhookCounters(): WebhookCounters {
  return { scheduled: 0, posted: 0, delivered: 0, duplicates: 0, retried: 0, failed: 0, lost: 0, replayed: 0 };
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
  const lossRate = options.lossRate ?? 0;
  if (!(lossRate >= 0 && lossRate <= 1)) throw new RangeError(`lossRate must be between 0 and 1, got ${lossRate}`);
  const signer = new Webhook(options.secret);
  const url = new URL(options.url).toString();

  const counters = noWebhookCounters();
  const log = new Map<string, WebhookLogEntry>();
  const posts = new Map<string, Post>();
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
    const entry = log.get(post.svixId);
    if (!ok && attemptNo <= retries) {
      counters.retried += 1;
      if (entry && entry.status !== "success") entry.status = "attempting";
      later(baseDelayMs * 2 ** (attemptNo - 1), () => void attempt(post, attemptNo + 1));
    } else {
      if (ok) counters.delivered += 1;
      else counters.failed += 1;
      // A message counts as delivered once any of its posts was: a duplicate's failure does not undo it.
      if (entry && entry.status !== "success") entry.status = ok ? "success" : "failed";
      const { body: _body, ...rest } = post;
      deliveries.push({ ...rest, attempts: attemptNo, status, ok });
    }
    settle();
  }

  /** Log a message once (a duplicate post shares its svix id); a lost one is failed at once. */
  function logMessage(post: Post, createdAt: number, lost: boolean): void {
    posts.set(post.svixId, post);
    if (log.has(post.svixId)) return;
    log.set(post.svixId, {
      id: post.svixId,
      type: post.type,
      createdAt: new Date(createdAt).toISOString(),
      status: lost ? "failed" : "pending",
      body: post.body,
      emailId: post.emailId || null,
      lost,
      replays: 0,
    });
  }

  return {
    counters,
    plans,
    deliveries,
    suppressed,
    log,
    emit(type, data, delayMs = 0) {
      const at = Date.now() + delayMs;
      const post: Post = {
        svixId: newMessageId(),
        type,
        emailId: "",
        body: JSON.stringify({ type, created_at: new Date(at).toISOString(), data }),
        duplicate: false,
      };
      counters.scheduled += 1;
      logMessage(post, at, false);
      later(delayMs, () => void attempt(post, 1));
      return post.svixId;
    },
    replay(svixId) {
      const post = posts.get(svixId);
      const entry = log.get(svixId);
      if (!post || !entry) return false;
      counters.replayed += 1;
      entry.replays += 1;
      entry.status = "attempting";
      later(0, () => void attempt({ ...post, duplicate: false }, 1));
      return true;
    },
    lastEventOf(emailId, now = Date.now()) {
      const plan = plans.get(emailId);
      if (!plan) return null;
      const happened = plan.events.filter((event) => event.occurredAt <= now);
      return happened.sort((a, b) => a.occurredAt - b.occurredAt).at(-1)?.type ?? null;
    },
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
        // Drawn only when asked for, so a seed's outcomes and delays stay those of a run without losses.
        const lost = lossRate > 0 && random.next() < lossRate;
        logMessage(post, event.occurredAt, lost);
        if (lost) {
          counters.lost += 1;
          continue;
        }
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
      log.clear();
      posts.clear();
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
