// The job catalog: every queue, every job name, its payload schema and its retry options.
import type { JobsOptions, WorkerOptions } from "bullmq";
import { z } from "zod";

export const QUEUE_NAMES = {
  inbox: "inbox",
  unmatched: "unmatched",
  maintenance: "maintenance",
  /** Every call to Resend's API, through one rate limiter (RESEND_API_RPS). */
  resend: "resend",
  /** Outbound webhooks to the applications' endpoints, one job per message (jobId = message id). */
  webhooks: "webhooks",
} as const;
export type QueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];

const SECOND = 1_000;
const HOUR = 3_600 * SECOND;
const DAY = 24 * HOUR;

export const CAPPED_EXPONENTIAL = "capped-exponential";
const BACKOFF_CAP = 15 * SECOND;
/** Attempts at the fast pace (about 9 minutes); after them, one every SLOW_RETRY. */
const FAST_ATTEMPTS = 40;
const SLOW_RETRY = 5 * 60 * SECOND;

/**
 * The workers' backoff for custom types (BullMQ computes "fixed" and "exponential" itself):
 * doubling from the job's delay, never more than 15 s apart, for the first 40 attempts, so a
 * short outage costs at most 15 s once it ends; then every 5 minutes, so a long one loses nothing.
 */
export function backoffStrategy(attemptsMade: number, type?: string, _error?: Error, job?: { opts: JobsOptions }) {
  if (type !== CAPPED_EXPONENTIAL) throw new Error(`unknown backoff type ${type}`);
  if (attemptsMade >= FAST_ATTEMPTS) return SLOW_RETRY;
  const backoff = job?.opts.backoff;
  const base = typeof backoff === "object" && backoff.delay ? backoff.delay : SECOND;
  return Math.min(base * 2 ** Math.max(0, attemptsMade - 1), BACKOFF_CAP);
}

/** An outage of a day: 40 fast attempts, then one every 5 minutes for 24 hours. */
const INBOX_ATTEMPTS = FAST_ATTEMPTS + (24 * HOUR) / SLOW_RETRY;

const isJsonObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * A verified webhook as the API received it: the parsed JSON body, untouched. The body is checked,
 * not copied (a record schema would copy every event the worker reads).
 */
export const inboxEventPayload = z.object({
  svixId: z.string().min(1),
  receivedAt: z.iso.datetime({ offset: true }),
  event: z.custom<Record<string, unknown>>(isJsonObject, "expected a JSON object"),
  /** With tracing on: the W3C traceparent of the API's request, so the worker's span joins its trace. */
  traceparent: z.string().max(128).optional(),
});

/**
 * One inbox job: the verified webhooks of one API micro-batch that hash to one shard, each an
 * inboxEventPayload. Each is read on its own by the worker (an unreadable one is dead-lettered alone
 * and the rest apply), so the schema here only asks for a list.
 */
export const inboxBatchPayload = z.object({
  events: z.array(z.unknown()).min(1),
});

/**
 * The events of one Resend email id that no notification carries yet: one job per email id, retried
 * until a notification carries it. The rest of the data is for the person reading it in Bull Board:
 * the first event parked, its recipient and subject, and where the support page shows them all.
 */
export const unmatchedEventPayload = z.object({
  emailId: z.string().min(1),
  /** Set on jobs parked, one per event, before jobs were kept one per email id. */
  svixId: z.string().min(1).optional(),
  type: z.string().optional(),
  recipient: z.string().nullable().optional(),
  subject: z.string().nullable().optional(),
  occurredAt: z.iso.datetime({ offset: true }).optional(),
  parkedAt: z.iso.datetime({ offset: true }).optional(),
  supportUrl: z.string().optional(),
});

/** Apply at once the parked events of an email id that a notification now carries. */
export const replayEmailPayload = z.object({
  emailId: z.string().min(1),
});

/** Drop IP and user agent from opens and clicks older than ENGAGEMENT_PII_DAYS (the worker knows the days). */
export const scrubEngagementPiiPayload = z.object({});

/** One retention pass (RETENTION_DAYS, the worker knows the days), after creating event partitions ahead. */
export const retentionPayload = z.object({});

/** One pass of the sweeper (and of the webhook delivery audit): finds what to ask Resend about. */
export const resendSweepPayload = z.object({});

/** Ask Resend (emails.get) where one notification's email is. */
export const resendGetEmailPayload = z.object({ notificationId: z.string().min(1), emailId: z.string().min(1) });

/** List the failed deliveries of one webhook endpoint (webhooks.events.list) and replay each. */
export const resendAuditWebhooksPayload = z.object({ webhookId: z.string().min(1) });

/** Ask Resend to deliver one logged webhook message again (webhooks.events.replay). */
export const resendReplayWebhookPayload = z.object({
  webhookId: z.string().min(1),
  eventId: z.string().min(1),
  type: z.string().optional(),
});

/** Mirror one change of mailstate's suppression list on Resend's (RESEND_SUPPRESSION_SYNC=both). */
export const resendSuppressionPayload = z.object({ email: z.string().min(1) });

/** Unsubscribe one address from the audience (RESEND_AUDIENCE_ID) after a hard bounce or complaint. */
export const resendUnsubscribePayload = z.object({ audienceId: z.string().min(1), email: z.string().min(1) });

/**
 * Calls to Resend's API: 429s, 5xx and timeouts back off from 2 s, doubling, for about an hour in
 * all; a 404 is handled by each call (done, or recorded), never retried.
 */
const RESEND_CALL_OPTIONS = { attempts: 12, backoff: { type: "exponential", delay: 2 * SECOND } } as const;

/** Send one outbox message to its endpoint (webhook_endpoints, outbound_messages). */
export const webhookDeliverPayload = z.object({ messageId: z.string().regex(/^msg_[0-9a-f]{32}$/) });

/**
 * An endpoint that fails is retried for about a day: 10 s doubling, 14 attempts, the last one
 * ~23 hours after the first. The worker may shorten the base (OUTBOUND_RETRY_BASE_MS).
 */
export const WEBHOOK_ATTEMPTS = 14;
export const WEBHOOK_RETRY_BASE_MS = 10 * SECOND;

export const JOBS = {
  "inbox.batch": {
    queue: QUEUE_NAMES.inbox,
    payload: inboxBatchPayload,
    options: {
      // Rides out a PostgreSQL outage of a day: 1, 2, 4, 8, then every 15 s for about 9 minutes
      // (resuming within 15 s of a short outage's end), then every 5 minutes. A retry holds only the
      // events the attempt before it did not apply.
      attempts: INBOX_ATTEMPTS,
      backoff: { type: CAPPED_EXPONENTIAL, delay: SECOND },
    },
  },
  /** One webhook per job: what the API wrote before batch jobs. A worker still applies them, so an upgrade drains either kind. */
  "inbox.reconcile": {
    queue: QUEUE_NAMES.inbox,
    payload: inboxEventPayload,
    options: {
      // Rides out a PostgreSQL outage of a day: 1, 2, 4, 8, then every 15 s for about 9 minutes
      // (resuming within 15 s of a short outage's end), then every 5 minutes.
      attempts: INBOX_ATTEMPTS,
      backoff: { type: CAPPED_EXPONENTIAL, delay: SECOND },
    },
  },
  "inbox.replay-email": {
    queue: QUEUE_NAMES.inbox,
    payload: replayEmailPayload,
    options: {
      attempts: INBOX_ATTEMPTS,
      backoff: { type: CAPPED_EXPONENTIAL, delay: SECOND },
    },
  },
  "unmatched.retry": {
    queue: QUEUE_NAMES.unmatched,
    payload: unmatchedEventPayload,
    options: {
      // 1 min doubling, 12 attempts: the last retry is ~34 h after parking, past Resend's own
      // 28 h retry window. After that the job stays failed for ops to see and retry.
      attempts: 12,
      backoff: { type: "exponential", delay: 60 * SECOND },
      delay: 60 * SECOND,
    },
  },
  "maintenance.scrub-engagement-pii": {
    queue: QUEUE_NAMES.maintenance,
    payload: scrubEngagementPiiPayload,
    options: {
      // Each run does the whole job; a failed one is retried a few times, then the next hour's runs.
      attempts: 3,
      backoff: { type: "exponential", delay: 60 * SECOND },
    },
  },
  "maintenance.retention": {
    queue: QUEUE_NAMES.maintenance,
    payload: retentionPayload,
    options: {
      // Every step picks up what is left: a failed pass is retried a few times, then the next hour's.
      attempts: 3,
      backoff: { type: "exponential", delay: 60 * SECOND },
    },
  },
  "maintenance.resend-sweep": {
    queue: QUEUE_NAMES.maintenance,
    payload: resendSweepPayload,
    // The next interval's run does it again: a failed pass is not retried.
    options: { attempts: 1 },
  },
  "resend.get-email": { queue: QUEUE_NAMES.resend, payload: resendGetEmailPayload, options: RESEND_CALL_OPTIONS },
  "resend.audit-webhooks": {
    queue: QUEUE_NAMES.resend,
    payload: resendAuditWebhooksPayload,
    options: RESEND_CALL_OPTIONS,
  },
  "resend.replay-webhook": {
    queue: QUEUE_NAMES.resend,
    payload: resendReplayWebhookPayload,
    options: RESEND_CALL_OPTIONS,
  },
  "resend.add-suppression": {
    queue: QUEUE_NAMES.resend,
    payload: resendSuppressionPayload,
    options: RESEND_CALL_OPTIONS,
  },
  "resend.remove-suppression": {
    queue: QUEUE_NAMES.resend,
    payload: resendSuppressionPayload,
    options: RESEND_CALL_OPTIONS,
  },
  "resend.unsubscribe-contact": {
    queue: QUEUE_NAMES.resend,
    payload: resendUnsubscribePayload,
    options: RESEND_CALL_OPTIONS,
  },
  "webhooks.deliver": {
    queue: QUEUE_NAMES.webhooks,
    payload: webhookDeliverPayload,
    options: { attempts: WEBHOOK_ATTEMPTS, backoff: { type: "exponential", delay: WEBHOOK_RETRY_BASE_MS } },
  },
} as const satisfies Record<string, { queue: QueueName; payload: z.ZodType; options: JobsOptions }>;

/**
 * How long each queue keeps finished jobs. Set on the workers rather than on every job: each job
 * would carry it in Redis (about 100 bytes of every parked email id). BullMQ counts `age` in
 * seconds; a worker's `count: 0` removes at once, `count: -1` keeps every job.
 */
export const RETENTION = {
  inbox: {
    // The event log in PostgreSQL is the record of every applied event: a completed job holds a copy
    // of the body that nobody reads, so it leaves Redis at once.
    removeOnComplete: { count: 0 },
    // A failed job leaves Redis only once its body is in the dead-letter table (see the worker's
    // dead-letters.ts), never by age or count.
    removeOnFail: { count: -1 },
  },
  unmatched: {
    removeOnComplete: { age: DAY / SECOND, count: 1_000 },
    // Failed for good: shown in Bull Board for 30 days. The events stay in the log as unmatched;
    // recording their email id or `mailstate replay-unmatched` still applies them.
    removeOnFail: { age: (30 * DAY) / SECOND },
  },
  maintenance: {
    removeOnComplete: { age: (7 * DAY) / SECOND, count: 200 },
    removeOnFail: { age: (30 * DAY) / SECOND },
  },
  resend: {
    // A call's job id names what it is about (the notification, the address), so while one waits
    // for the rate limiter the same call is not queued twice; once done it may be asked again.
    removeOnComplete: { count: 0 },
    removeOnFail: { age: DAY / SECOND },
  },
  webhooks: {
    // The outbox row is the delivery log; the job is kept a day so Bull Board shows recent sends.
    removeOnComplete: { age: DAY / SECOND, count: 1_000 },
    removeOnFail: { age: (7 * DAY) / SECOND },
  },
} as const satisfies Record<QueueName, Pick<WorkerOptions, "removeOnComplete" | "removeOnFail">>;

/**
 * Jobs that run on a schedule: one BullMQ job scheduler each, upserted by every worker at start
 * (the same id, so one schedule however many workers), which adds the next run once one starts.
 */
export const JOB_SCHEDULES = {
  "maintenance.scrub-engagement-pii": { every: HOUR },
  "maintenance.retention": { every: HOUR },
} as const satisfies Partial<Record<JobName, { every: number }>>;

export type JobName = keyof typeof JOBS;
export type JobPayload<N extends JobName> = z.infer<(typeof JOBS)[N]["payload"]>;
export type InboxEventPayload = JobPayload<"inbox.reconcile">;
/** The names of the jobs that carry webhooks: a batch, or (written before batches) one webhook. */
export const INBOX_EVENT_JOBS = ["inbox.batch", "inbox.reconcile"] as const;

/** BullMQ job ids may not contain ":"; svix ids normally don't, but never trust that. */
export function jobIdFor(
  kind:
    | "event"
    | "unmatched"
    | "replay"
    | "poll"
    | "audit"
    | "replay-webhook"
    | "add-suppression"
    | "remove-suppression"
    | "unsubscribe",
  key: string,
): string {
  return `${kind}-${key.replace(/%/g, "%25").replace(/:/g, "%3A")}`;
}
