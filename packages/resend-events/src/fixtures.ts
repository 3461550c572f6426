// One real-shaped payload per known type, and a builder for tests in every
// package. Times are written in both of Resend's forms on purpose.
import type { ResendEventType } from "./event-types.ts";
import { parseResendEvent } from "./parse.ts";
import type { ResendEventOf, ResendEventPayloadOf } from "./schemas.ts";

export const FIXTURE_EMAIL_ID = "4ef9a417-02e9-4d39-ad75-9611e0fcc33c";
export const FIXTURE_RECIPIENT = "delivered@resend.dev";

const emailData = {
  email_id: FIXTURE_EMAIL_ID,
  created_at: "2026-11-22T10:00:00.000Z",
  from: "Acme <onboarding@acme.dev>",
  to: [FIXTURE_RECIPIENT],
  subject: "Reset your password",
  message_id: "<0100019ab8d5c6f1-4e1c7a2b-9c1f-4d3b-8f2a-7e6d5c4b3a21-000000@email.amazonses.com>",
  tags: { category: "password_reset" },
};

const contactData = {
  id: "e169aa45-1ecf-4183-9955-b1499d5701d3",
  audience_id: "78261eea-8f8b-4381-83c6-79fa7120f1cf",
  segment_ids: ["78261eea-8f8b-4381-83c6-79fa7120f1cf"],
  created_at: "2026-11-22T09:00:00.000Z",
  updated_at: "2026-11-22T09:00:00.000Z",
  email: "steve.wozniak@gmail.com",
  first_name: "Steve",
  last_name: "Wozniak",
  unsubscribed: false,
};

const domainData = {
  id: "d91cd9bd-1176-453e-8fc1-35364d380206",
  name: "acme.dev",
  status: "not_started",
  created_at: "2026-11-22T09:00:00.000Z",
  region: "us-east-1",
  records: [
    {
      record: "SPF",
      name: "send",
      type: "MX",
      ttl: "Auto",
      status: "not_started",
      value: "feedback-smtp.us-east-1.amazonses.com",
      priority: 10,
    },
  ],
};

const suppressionData = {
  id: "8a3b2c1d-0e9f-4a7b-8c6d-5e4f3a2b1c0d",
  email: "bounced@resend.dev",
  origin: "bounce",
  source_id: FIXTURE_EMAIL_ID,
  created_at: "2026-11-22T10:00:03.000Z",
};

type Fixtures = { readonly [T in ResendEventType]: ResendEventPayloadOf<T> };

export const fixtures: Fixtures = deepFreeze({
  "email.scheduled": { type: "email.scheduled", created_at: "2026-11-22T10:00:00.102Z", data: emailData },
  "email.sent": { type: "email.sent", created_at: "2026-11-22T10:00:00.894719+00:00", data: emailData },
  "email.delivered": { type: "email.delivered", created_at: "2026-11-22T10:00:01.532Z", data: emailData },
  "email.delivery_delayed": {
    type: "email.delivery_delayed",
    created_at: "2026-11-22T10:00:01.250413+00:00",
    data: emailData,
  },
  "email.bounced": {
    type: "email.bounced",
    created_at: "2026-11-22T10:00:02.441Z",
    data: {
      ...emailData,
      to: ["bounced@resend.dev"],
      bounce: {
        type: "Permanent",
        subType: "General",
        message:
          "The recipient's email provider sent a hard bounce message, but didn't specify the reason for the hard bounce.",
        diagnosticCode: ["smtp; 550 5.1.1 user unknown"],
      },
    },
  },
  "email.complained": {
    type: "email.complained",
    created_at: "2026-11-22T10:05:00.000118+00:00",
    data: { ...emailData, to: ["complained@resend.dev"] },
  },
  "email.opened": { type: "email.opened", created_at: "2026-11-22T10:03:12.608Z", data: emailData },
  "email.clicked": {
    type: "email.clicked",
    created_at: "2026-11-22T10:03:40.207754+00:00",
    data: {
      ...emailData,
      // Tags also arrive as a list of {name, value}.
      tags: [{ name: "category", value: "password_reset" }],
      click: {
        ipAddress: "122.115.53.11",
        link: "https://acme.dev/reset?token=abc",
        timestamp: "2026-11-22T10:03:40.123Z",
        userAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)",
      },
    },
  },
  "email.failed": {
    type: "email.failed",
    created_at: "2026-11-22T10:00:00.300Z",
    data: { ...emailData, failed: { reason: "reached_daily_quota" } },
  },
  "email.suppressed": {
    type: "email.suppressed",
    created_at: "2026-11-22T10:00:00.412Z",
    data: {
      ...emailData,
      to: ["suppressed@resend.dev"],
      suppressed: { message: "Recipient is on the account suppression list", type: "OnAccountSuppressionList" },
    },
  },
  "email.received": {
    type: "email.received",
    created_at: "2026-11-22T11:00:00.000Z",
    data: {
      email_id: "56761188-7520-42d8-8898-ff6fc54ce618",
      created_at: "2026-11-22T11:00:00.000Z",
      from: "Jane <jane@example.com>",
      to: ["support@acme.dev"],
      bcc: [],
      cc: [],
      received_for: ["support@acme.dev"],
      message_id: "<CAFf2b+jane@mail.example.com>",
      subject: "Re: Reset your password",
      attachments: [],
    },
  },
  "contact.created": { type: "contact.created", created_at: "2026-11-22T09:00:00.000Z", data: contactData },
  "contact.updated": {
    type: "contact.updated",
    created_at: "2026-11-22T09:30:00.000Z",
    data: { ...contactData, updated_at: "2026-11-22T09:30:00.000Z", unsubscribed: true },
  },
  "contact.deleted": { type: "contact.deleted", created_at: "2026-11-22T09:45:00.000Z", data: contactData },
  "domain.created": { type: "domain.created", created_at: "2026-11-22T09:00:00.000Z", data: domainData },
  "domain.updated": {
    type: "domain.updated",
    created_at: "2026-11-22T09:10:00.000Z",
    data: { ...domainData, status: "verified" },
  },
  "domain.deleted": { type: "domain.deleted", created_at: "2026-11-22T09:20:00.000Z", data: domainData },
  "suppression.added": { type: "suppression.added", created_at: "2026-11-22T10:00:03.000Z", data: suppressionData },
  "suppression.removed": {
    type: "suppression.removed",
    created_at: "2026-11-22T12:00:00.000Z",
    data: suppressionData,
  },
});

/** A payload of a type mailstate does not model (Resend's inbox events). */
export const unknownTypeFixture = deepFreeze({
  type: "inbox.thread.created",
  created_at: "2026-11-22T10:00:00.000Z",
  data: { source: "api", inbox_id: "inb_123", thread_id: "thr_456" },
});

type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

export type EventOverrides<T extends ResendEventType> = DeepPartial<Omit<ResendEventPayloadOf<T>, "type">>;

/**
 * Overrides any type accepts, for callers generic over the type (where
 * `EventOverrides<T>` cannot be checked); the parse still validates them.
 */
export interface CommonEventOverrides {
  created_at?: string;
  data?: { email_id?: string; to?: string[]; created_at?: string; [field: string]: unknown };
}

/**
 * The fixture of `type` with `overrides` merged in (objects merge, arrays
 * and scalars replace), parsed, so it is both a valid webhook body and a
 * `ResendEvent`.
 *
 * @example makeEvent("email.bounced", { created_at: "2026-11-22T10:00:05Z", data: { bounce: { type: "Transient" } } })
 */
export function makeEvent<T extends ResendEventType>(
  type: T,
  overrides?: EventOverrides<T> | CommonEventOverrides,
): ResendEventOf<T> {
  const merged = deepMerge(fixtures[type], overrides);
  return parseResendEvent(merged) as ResendEventOf<T>;
}

function deepMerge(base: unknown, patch: unknown): unknown {
  if (patch === undefined) return structuredClone(base);
  if (!isPlainObject(base) || !isPlainObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = structuredClone(base);
  for (const [key, value] of Object.entries(patch)) out[key] = deepMerge(base[key], value);
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
