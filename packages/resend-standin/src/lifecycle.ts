// What happens to an accepted email, decided up front from a seeded draw: its events, when each
// happened, and the delivery state they fold to. Pure: no timers, no I/O.
import { fixtures, type ResendEventPayloadOf } from "@mailstate/resend-events";
import { normalizeEmail } from "@mailstate/state-machine";
import type { Random } from "./random.ts";
import type { StoredEmail } from "./types.ts";

/**
 * Each a probability in [0, 1]. bounce, softBounce, complaint, fail and pending pick one outcome
 * (at most 1 together; the rest is delivered; given any of them, the others default to 0); delay,
 * open and click are drawn on their own.
 */
export interface WebhookRates {
  /** Hard bounce (`Permanent`): the address lands on the suppression list. */
  bounce: number;
  /** Soft bounce (`Transient`). */
  softBounce: number;
  /** Delivered, then marked as spam. */
  complaint: number;
  /** Never sent: `email.failed` (say, a daily quota reached). */
  fail: number;
  /** Sent, then nothing more yet: the email lingers in `sent` (or `delivery_delayed`). */
  pending: number;
  /** `email.delivery_delayed` before the outcome, independent of the outcome. */
  delay: number;
  /** Of the delivered: opened at least once. */
  open: number;
  /** Of the delivered, when the html has a link: clicked (and so opened). */
  click: number;
}

export const DEFAULT_RATES: WebhookRates = {
  bounce: 0.05,
  softBounce: 0.02,
  complaint: 0.02,
  fail: 0,
  pending: 0,
  delay: 0.05,
  open: 0.4,
  click: 0.15,
};

export type Outcome = "delivered" | "bounced" | "soft_bounced" | "complained" | "failed" | "pending" | "suppressed";

export type LifecycleEventType =
  | "email.sent"
  | "email.delivery_delayed"
  | "email.delivered"
  | "email.bounced"
  | "email.complained"
  | "email.opened"
  | "email.clicked"
  | "email.failed"
  | "email.suppressed";

export interface PlannedEvent {
  type: LifecycleEventType;
  /** When it happened, ms since the epoch: the payload's top-level created_at. */
  occurredAt: number;
  body: ResendEventPayloadOf<LifecycleEventType>;
}

export interface Lifecycle {
  outcome: Outcome;
  delayed: boolean;
  /** The state mailstate should fold these events to. */
  expectedState: "sent" | "delivery_delayed" | "delivered" | "bounced" | "complained" | "failed" | "suppressed";
  events: PlannedEvent[];
  /** Addresses Resend would put on the account's suppression list after this email. */
  suppresses: string[];
}

// Resend's test addresses (`bounced@resend.dev`, `complained+label@resend.dev`, …) force the outcome.
const TEST_ADDRESS = /^(delivered|bounced|complained|suppressed)(?:\+[^@]*)?@resend\.dev$/i;

const USER_AGENTS = [
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
];

/** The rates that pick an email's outcome; they add up to at most 1, the rest is delivered. */
const OUTCOME_RATES = ["bounce", "softBounce", "complaint", "fail", "pending"] as const;

/** Rates merged over the defaults; each checked to be a probability. */
export function resolveRates(rates: Partial<WebhookRates> = {}): WebhookRates {
  // Given any outcome rate, the outcomes not given are 0: `{ bounce: 1 }` bounces everything.
  const outcomeGiven = OUTCOME_RATES.some((name) => rates[name] !== undefined);
  const defaults = outcomeGiven
    ? { ...DEFAULT_RATES, ...Object.fromEntries(OUTCOME_RATES.map((name) => [name, 0])) }
    : DEFAULT_RATES;
  const merged = { ...defaults, ...rates };
  for (const [name, value] of Object.entries(merged)) {
    if (!(value >= 0 && value <= 1)) throw new RangeError(`rates.${name} must be between 0 and 1, got ${value}`);
  }
  const exclusive = merged.bounce + merged.softBounce + merged.complaint + merged.fail + merged.pending;
  if (exclusive > 1)
    throw new RangeError(`bounce + softBounce + complaint + fail + pending must be ≤ 1, got ${exclusive}`);
  return merged;
}

/** The first http(s) link of the html, which is what a recipient would click. */
export function firstLink(html: string | undefined): string | null {
  const match = /href\s*=\s*["'](https?:\/\/[^"']+)["']/i.exec(html ?? "");
  return match?.[1] ?? null;
}

function drawOutcome(
  email: StoredEmail,
  rates: WebhookRates,
  random: Random,
  suppressed: ReadonlySet<string>,
): Outcome {
  const recipients = [...email.to, ...email.cc, ...email.bcc].map(normalizeEmail);
  // Drawn first, always, so a forced outcome does not shift the draws of the emails after it.
  const draw = random.next();
  if (recipients.some((address) => suppressed.has(address))) return "suppressed";
  const forced = TEST_ADDRESS.exec(recipients[0] ?? "")?.[1]?.toLowerCase();
  if (forced === "delivered" || forced === "bounced" || forced === "complained" || forced === "suppressed")
    return forced;
  let threshold = 0;
  for (const [outcome, rate] of [
    ["failed", rates.fail],
    ["bounced", rates.bounce],
    ["soft_bounced", rates.softBounce],
    ["complained", rates.complaint],
    ["pending", rates.pending],
  ] as const) {
    threshold += rate;
    if (draw < threshold) return outcome;
  }
  return "delivered";
}

/**
 * The events of one email. Event times spread over `lifecycleMs` after `acceptedAt`, in the order
 * Resend would emit them; the sender later posts them in a shuffled order.
 */
export function planLifecycle(
  email: StoredEmail,
  {
    rates,
    random,
    acceptedAt,
    lifecycleMs,
    suppressed,
  }: { rates: WebhookRates; random: Random; acceptedAt: number; lifecycleMs: number; suppressed: ReadonlySet<string> },
): Lifecycle {
  const outcome = drawOutcome(email, rates, random, suppressed);
  const delayed = random.next() < rates.delay;
  const opened = random.next() < rates.open;
  const link = firstLink(email.html);
  const clicked = random.next() < rates.click && link !== null;
  const at = (from: number, to: number) => acceptedAt + Math.round(lifecycleMs * random.between(from, to));
  const events: PlannedEvent[] = [];
  const data = emailData(email, random);
  const stamp = (occurredAt: number) => resendTimestamp(occurredAt, random);
  const push = (type: LifecycleEventType, occurredAt: number, extra: Record<string, unknown> = {}) =>
    events.push({
      type,
      occurredAt,
      body: { type, created_at: stamp(occurredAt), data: { ...data, ...extra } } as PlannedEvent["body"],
    });

  if (outcome === "failed") {
    push("email.failed", at(0.02, 0.08), { failed: { ...fixtures["email.failed"].data.failed } });
    return { outcome, delayed: false, expectedState: "failed", events, suppresses: [] };
  }
  if (outcome === "suppressed") {
    push("email.suppressed", at(0.02, 0.08), { suppressed: { ...fixtures["email.suppressed"].data.suppressed } });
    return { outcome, delayed: false, expectedState: "suppressed", events, suppresses: [] };
  }

  push("email.sent", at(0.02, 0.08));
  if (delayed) push("email.delivery_delayed", at(0.1, 0.25));
  const recipients = data.to;
  switch (outcome) {
    case "pending":
      return { outcome, delayed, expectedState: delayed ? "delivery_delayed" : "sent", events, suppresses: [] };
    case "bounced":
    case "soft_bounced": {
      const hard = outcome === "bounced";
      push("email.bounced", at(0.3, 0.5), { bounce: bounceOf(hard) });
      return { outcome, delayed, expectedState: "bounced", events, suppresses: hard ? recipients : [] };
    }
    default:
      break;
  }

  const deliveredAt = at(0.3, 0.5);
  push("email.delivered", deliveredAt);
  let engagedUntil = deliveredAt;
  if (opened || clicked) {
    engagedUntil = deliveredAt + Math.round(lifecycleMs * random.between(0.05, 0.3));
    push("email.opened", engagedUntil);
  }
  if (clicked && link !== null) {
    const clickedAt = deliveredAt + Math.round(lifecycleMs * random.between(0.3, 0.5));
    engagedUntil = clickedAt;
    push("email.clicked", clickedAt, {
      click: {
        link,
        timestamp: new Date(clickedAt).toISOString(),
        ipAddress: `${random.int(11, 223)}.${random.int(0, 255)}.${random.int(0, 255)}.${random.int(1, 254)}`,
        userAgent: random.pick(USER_AGENTS),
      },
    });
  }
  if (outcome === "complained") {
    // A complaint is the recipient's last act: after any open or click, so Resend's last_event says it.
    push("email.complained", Math.max(at(0.85, 1), engagedUntil + 1));
    return { outcome, delayed, expectedState: "complained", events, suppresses: recipients };
  }
  return { outcome, delayed, expectedState: "delivered", events, suppresses: [] };
}

/** The `bounce` of an email.bounced: hard (user unknown, `Permanent`) or soft (mailbox full, `Transient`). */
function bounceOf(hard: boolean) {
  return hard
    ? { ...fixtures["email.bounced"].data.bounce, diagnosticCode: ["smtp; 550 5.1.1 user unknown"] }
    : {
        type: "Transient",
        subType: "MailboxFull",
        message: "The recipient's inbox is full. You might be able to send to this recipient successfully later.",
        diagnosticCode: ["smtp; 452 4.2.2 mailbox full"],
      };
}

function emailData(email: StoredEmail, random: Random) {
  const tags = Object.fromEntries(email.tags.map((tag) => [tag.name, tag.value]));
  return {
    email_id: email.id,
    created_at: email.createdAt,
    from: email.from,
    to: email.to.map(normalizeEmail),
    subject: email.subject,
    message_id: `<${random.hex(16)}-${random.hex(8)}-000000@email.amazonses.com>`,
    ...(email.tags.length > 0 ? { tags } : {}),
  };
}

/** Resend writes both `…00.123Z` and `…00.123456+00:00`; half of the events get each. */
function resendTimestamp(ms: number, random: Random): string {
  const iso = new Date(ms).toISOString();
  if (random.next() < 0.5) return iso;
  return `${iso.slice(0, -1)}${String(random.int(0, 999)).padStart(3, "0")}+00:00`;
}
