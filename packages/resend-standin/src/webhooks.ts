// Posts each accepted email's lifecycle back as Svix-signed webhooks, the way Resend does it:
// late, out of order, now and then twice (or lost). This plans and counts the posts; webhook-poster.ts
// sends them (retrying with backoff), webhook-log.ts keeps the endpoint's delivery log.
import { randomBytes } from "node:crypto";
import {
  type Lifecycle,
  type LifecycleEventType,
  type PlannedEvent,
  planLifecycle,
  resolveRates,
  type WebhookRates,
} from "./lifecycle.ts";
import { type Random, randomFor } from "./random.ts";
import type { StoredEmail } from "./types.ts";
import { createWebhookLog, type WebhookLogEntry } from "./webhook-log.ts";
import { type AttemptResult, createWebhookPoster, type Post } from "./webhook-poster.ts";

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
  const settings = resolveSettings(options);
  const counters = noWebhookCounters();
  const plans = new Map<string, PlannedEmail>();
  const deliveries: WebhookDelivery[] = [];
  const suppressed = new Set<string>();
  const log = createWebhookLog();
  const poster = createWebhookPoster(settings.poster, (result) => {
    tally(result, counters, deliveries);
    log.attempted(result);
  });
  let accepted = 0;

  /** Log a message and post it after `delayMs`; null: lost on purpose, logged as failed and never posted. */
  function enqueue(post: Post, createdAt: number, delayMs: number | null): void {
    counters.scheduled += 1;
    log.record(post, createdAt, delayMs === null);
    if (delayMs === null) counters.lost += 1;
    else poster.send(post, delayMs);
  }

  return {
    counters,
    plans,
    deliveries,
    suppressed,
    log: log.entries,
    emit(type, data, delayMs = 0) {
      const at = Date.now() + delayMs;
      const body = JSON.stringify({ type, created_at: new Date(at).toISOString(), data });
      const post: Post = { svixId: newMessageId(), type, emailId: "", body, duplicate: false };
      enqueue(post, at, delayMs);
      return post.svixId;
    },
    replay(svixId) {
      const post = log.replay(svixId);
      if (!post) return false;
      counters.replayed += 1;
      poster.send({ ...post, duplicate: false }, 0);
      return true;
    },
    lastEventOf(emailId, now = Date.now()) {
      const plan = plans.get(emailId);
      if (!plan) return null;
      const happened = plan.events.filter((event) => event.occurredAt <= now);
      return happened.sort((a, b) => a.occurredAt - b.occurredAt).at(-1)?.type ?? null;
    },
    schedule(email) {
      const random = randomFor(settings.seed, accepted++);
      const { rates, lifecycleMs } = settings;
      const lifecycle = planLifecycle(email, { rates, random, acceptedAt: Date.now(), lifecycleMs, suppressed });
      for (const address of lifecycle.suppresses) suppressed.add(address);
      const svixIds = timePosts(lifecycle.events, random, settings).map(({ event, postAt, lost, duplicateAt }) => {
        const body = JSON.stringify(event.body);
        const post: Post = { svixId: newMessageId(), type: event.type, emailId: email.id, body, duplicate: false };
        enqueue(post, event.occurredAt, lost ? null : postAt - Date.now());
        if (duplicateAt !== null) {
          counters.scheduled += 1;
          counters.duplicates += 1;
          poster.send({ ...post, duplicate: true }, duplicateAt - Date.now());
        }
        return post.svixId;
      });
      const plan: PlannedEmail = { ...lifecycle, emailId: email.id, svixIds };
      plans.set(email.id, plan);
      return plan;
    },
    pending: () => poster.pending(),
    idle: (timeoutMs) => poster.idle(timeoutMs),
    reset() {
      plans.clear();
      log.reset();
      deliveries.length = 0;
      suppressed.clear();
      for (const key of Object.keys(counters) as (keyof WebhookCounters)[]) counters[key] = 0;
    },
    close: () => poster.close(),
  };
}

/** The options with their defaults, each rate checked (a RangeError names the one out of range). */
function resolveSettings(options: WebhookOptions) {
  const rates = resolveRates(options.rates);
  const lossRate = options.lossRate ?? 0;
  if (!(lossRate >= 0 && lossRate <= 1)) throw new RangeError(`lossRate must be between 0 and 1, got ${lossRate}`);
  return {
    rates,
    lossRate,
    duplicateRate: options.duplicateRate ?? 0.05,
    maxDelayMs: options.maxDelayMs ?? 250,
    lifecycleMs: options.lifecycleMs ?? 400,
    seed: options.seed ?? randomBytes(4).readUInt32LE(),
    poster: {
      url: options.url,
      secret: options.secret,
      timeoutMs: options.timeoutMs ?? 5_000,
      retries: options.retry?.attempts ?? 5,
      baseDelayMs: options.retry?.baseDelayMs ?? 100,
    },
  };
}

/**
 * When each event's webhook is posted (a random wait after the event), whether it is lost, and when
 * its duplicate follows (null: none). Drawn in event order, from the email's own stream.
 */
function timePosts(
  events: PlannedEvent[],
  random: Random,
  { maxDelayMs, lossRate, duplicateRate }: { maxDelayMs: number; lossRate: number; duplicateRate: number },
) {
  return events.map((event) => {
    const postAt = event.occurredAt + random.between(0, maxDelayMs);
    // Drawn only when asked for, so a seed's outcomes and delays stay those of a run without losses.
    const lost = lossRate > 0 && random.next() < lossRate;
    const duplicateAt = !lost && random.next() < duplicateRate ? postAt + random.between(0, maxDelayMs) : null;
    return { event, postAt, lost, duplicateAt };
  });
}

/** Count one answered try; a post's last try (delivered or given up) is a delivery. */
function tally(result: AttemptResult, counters: WebhookCounters, deliveries: WebhookDelivery[]): void {
  counters.posted += 1;
  if (result.retrying) {
    counters.retried += 1;
    return;
  }
  if (result.ok) counters.delivered += 1;
  else counters.failed += 1;
  const { body: _body, ...rest } = result.post;
  deliveries.push({ ...rest, attempts: result.attempt, status: result.status, ok: result.ok });
}
