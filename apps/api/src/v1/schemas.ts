// The /v1 contract in zod: requests are parsed with these, responses are typed by them, and the
// OpenAPI document is generated from them (openapi.ts), so the three never drift apart.
import { messageIdKey } from "@mailstate/db";
import { DELIVERY_STATES, EMAIL_ADDRESS, normalizeEmail, SUPPRESSION_REASONS } from "@mailstate/state-machine";
import { z } from "zod";
import { DEFAULT_ENGAGEMENT_PAGE, decodeEngagementCursor, MAX_ENGAGEMENT_PAGE } from "../timeline.ts";

export const MAX_RECIPIENTS = 50;
export const MAX_BATCH = 100;
export const MAX_CHECK = 1_000;
export const MAX_PAGE = 100;
export const DEFAULT_PAGE = 50;

/** The named schemas of the OpenAPI document (components.schemas). */
export const components = z.registry<{ id: string }>();

export const MAX_METADATA_DEPTH = 20;
export const MAX_METADATA_BYTES = 16_384;

const NUL_MESSAGE = "must not contain the NUL character (\\u0000)";
const SURROGATE_MESSAGE = "must not contain an unpaired UTF-16 surrogate";

/** A high surrogate not followed by a low one, or a low one not preceded by a high one (no `u` flag: code units). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why PostgreSQL could not store or compare this string, or undefined when it can. */
function unstorable(value: string): string | undefined {
  if (value.includes("\0")) return NUL_MESSAGE;
  if (LONE_SURROGATE.test(value)) return SURROGATE_MESSAGE;
  return undefined;
}

/**
 * Every string /v1 stores or queries by: PostgreSQL text and jsonb cannot hold NUL, and a lone
 * surrogate is not Unicode at all, so both would fail in the database as a 500 instead of here.
 */
export const text = () =>
  z.string().superRefine((value, ctx) => {
    const message = unstorable(value);
    if (message) ctx.addIssue({ code: "custom", message });
  });

/** A record whose keys are checked too; zod's own message for a bad key does not say what is wrong. */
const textRecord = <V extends z.ZodType>(key: z.ZodString, value: V) =>
  z.record(key, value, {
    error: (issue) =>
      issue.code === "invalid_key" ? `key ${issue.issues.map((inner) => inner.message).join("; ")}` : undefined,
  });

/** `Ada <Ada@Example.com>` and ` ada@example.com ` both become `ada@example.com`. */
export const emailAddress = text()
  .max(320)
  .transform(normalizeEmail)
  .pipe(z.string().regex(EMAIL_ADDRESS, "must be an email address"))
  .meta({ description: "An email address, optionally `Name <address>`; stored trimmed and lowercased." });

const recipients = z
  .union([emailAddress, z.array(emailAddress).min(1).max(MAX_RECIPIENTS)])
  .transform((to) => [...new Set(Array.isArray(to) ? to : [to])])
  .meta({ description: `One address or a list of 1 to ${MAX_RECIPIENTS}.` });

const shortText = (max: number) => text().min(1).max(max);
const tenantName = shortText(200);
const jsonObject = z.record(z.string(), z.unknown());

type Path = (string | number)[];

/** The first place in a JSON value that cannot be stored (a key or string, or nesting too deep). */
function metadataProblem(value: unknown, path: Path, depth: number): { path: Path; message: string } | undefined {
  if (typeof value === "string") {
    const message = unstorable(value);
    return message ? { path, message } : undefined;
  }
  if (value === null || typeof value !== "object") return undefined;
  // Checked before descending, so a body nested a million deep costs 20 steps, not a stack overflow.
  if (depth > MAX_METADATA_DEPTH)
    return { path: [], message: `must not nest deeper than ${MAX_METADATA_DEPTH} levels` };
  const entries: [string | number, unknown][] = Array.isArray(value) ? [...value.entries()] : Object.entries(value);
  for (const [key, item] of entries) {
    const keyMessage = typeof key === "string" ? unstorable(key) : undefined;
    if (keyMessage) return { path: [...path, key], message: `key ${keyMessage}` };
    const found = metadataProblem(item, [...path, key], depth + 1);
    if (found) return found;
  }
  return undefined;
}

/** Free-form JSON the caller keeps with a notification: bounded, because Prisma recurses into it. */
const metadataInput = jsonObject
  .superRefine((value, ctx) => {
    const problem = metadataProblem(value, [], 1);
    if (problem) {
      ctx.addIssue({ code: "custom", path: problem.path, message: problem.message });
      return;
    }
    if (Buffer.byteLength(JSON.stringify(value)) > MAX_METADATA_BYTES) {
      ctx.addIssue({ code: "custom", message: `must be at most ${MAX_METADATA_BYTES} bytes as JSON` });
    }
  })
  .meta({
    description: `Any JSON object, nested at most ${MAX_METADATA_DEPTH} levels and at most ${MAX_METADATA_BYTES} bytes.`,
  });

export const recordNotificationBody = z
  .object({
    to: recipients,
    from: shortText(998),
    subject: text().max(998),
    tenant: tenantName.optional().meta({
      description: "Default: the API key's tenant. A tenant's key may only name its own (else 403).",
    }),
    tags: textRecord(text().max(256), text().max(256)).optional(),
    category: shortText(200).optional(),
    metadata: metadataInput.optional(),
    idempotencyKey: shortText(256).optional().meta({
      description: "Recording twice with one key answers the first notification (200). Keys are per tenant.",
    }),
    resendEmailId: shortText(256)
      .optional()
      .meta({ description: "Resend's email id, when the send already happened. Unique across notifications." }),
    suppressionBypassed: z
      .boolean()
      .default(false)
      .meta({ description: "The caller sent despite a suppressed recipient (password reset, verification)." }),
  })
  .register(components, { id: "RecordNotification" });
export type RecordNotificationBody = z.infer<typeof recordNotificationBody>;

export const recordBatchBody = z
  .object({ notifications: z.array(recordNotificationBody).min(1).max(MAX_BATCH) })
  .register(components, { id: "RecordNotificationBatch" });

export const sendErrorSchema = z
  .object({
    name: shortText(200).meta({ description: "Resend's error name, e.g. `validation_error`." }),
    message: shortText(2_000),
    statusCode: z.int().min(100).max(599).nullable().optional(),
  })
  .register(components, { id: "SendError" });

/** What came of the send: Resend's id, or Resend's refusal; exactly one of them. */
const sendOutcomeFields = {
  resendEmailId: shortText(256).optional().meta({ description: "Resend's email id: the email went out." }),
  sendError: sendErrorSchema.optional().meta({ description: "Resend refused the send: no event will come." }),
};
const exactlyOneOutcome = [
  (value: { resendEmailId?: string; sendError?: unknown }) =>
    (value.resendEmailId === undefined) !== (value.sendError === undefined),
  { message: "give exactly one of resendEmailId (the email went out) and sendError (Resend refused it)" },
] as const;

export const sendOutcomeBody = z
  .object(sendOutcomeFields)
  .refine(...exactlyOneOutcome)
  .register(components, { id: "SendOutcome" });
export type SendOutcomeBody = z.infer<typeof sendOutcomeBody>;

export const sendOutcomeBatchBody = z
  .object({
    notifications: z
      .array(
        z
          .object({ id: z.uuid("must be a notification id (a UUID)"), ...sendOutcomeFields })
          .refine(...exactlyOneOutcome),
      )
      .min(1)
      .max(MAX_BATCH),
  })
  .register(components, { id: "SendOutcomeBatch" });

/** C0 and C1 control characters: no Message-ID holds one; a line break pasted with a header is one. */
const CONTROL_CHARACTER = /\p{Cc}/u;

/** RFC 5322's limit on a header line: no Message-ID is longer. */
const MAX_MESSAGE_ID = 998;

/** `<id@host>` as a forwarded email's headers carry it, or without the brackets: both find the same email. */
export const messageIdQuery = text()
  .max(MAX_MESSAGE_ID)
  .refine((value) => !CONTROL_CHARACTER.test(value), "must not contain control characters")
  .transform(messageIdKey)
  .pipe(z.string().min(1, "must be a Message-ID, e.g. <id@example.com>"))
  .meta({
    description:
      "The Message-ID header of the email (Resend's `message_id`), with or without its angle brackets: the notifications whose Message-ID is that one.",
  });

export const notificationIdParams = z.object({ id: z.uuid("must be a notification id (a UUID)") });
export const emailParams = z.object({ email: emailAddress });

export const listNotificationsQuery = z.object({
  email: emailAddress.optional(),
  resendEmailId: shortText(256).optional(),
  messageId: messageIdQuery.optional(),
  state: z.enum(DELIVERY_STATES).optional(),
  tenant: tenantName.optional().meta({
    description: "Admin keys: one tenant's notifications (default: every tenant's). A tenant's key lists its own.",
  }),
  cursor: z.uuid("must be the nextCursor of a previous page").optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(DEFAULT_PAGE),
});

export const timelineQuery = z.object({
  engagementLimit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_ENGAGEMENT_PAGE)
    .default(DEFAULT_ENGAGEMENT_PAGE)
    .meta({ description: "Opens and clicks per page (every delivery event is always in the answer)." }),
  engagementCursor: z
    .string()
    .max(2_048)
    .transform((cursor, ctx) => {
      const decoded = decodeEngagementCursor(cursor);
      if (!decoded) ctx.addIssue({ code: "custom", message: "must be the nextEngagementCursor of a previous answer" });
      return decoded ?? z.NEVER;
    })
    .optional()
    .meta({ description: "The nextEngagementCursor of the previous answer: its next page of opens and clicks." }),
});

/** The tenant an admin key acts for; a tenant's key may only name its own (else 403). */
const actingTenantField = tenantName.optional().meta({
  description:
    "Admin keys: the tenant to act for (default: none). A tenant's key acts for its own tenant; naming another answers 403.",
});

export const addSuppressionBody = z
  .object({
    email: emailAddress,
    note: text().max(1_000).optional().meta({ description: "Why it was added, for the next person to read." }),
    tenant: actingTenantField,
  })
  .register(components, { id: "AddSuppression" });

export const checkSuppressionsBody = z
  .object({ emails: z.array(emailAddress).min(1).max(MAX_CHECK), tenant: actingTenantField })
  .register(components, { id: "CheckSuppressions" });

/** `?tenant=` on the routes of one address. */
export const tenantQuery = z.object({ tenant: actingTenantField });

export const listSuppressionsQuery = z.object({
  tenant: tenantName.optional().meta({
    description:
      "Admin keys: the suppressions that apply to this tenant's sends (default: every list). A tenant's key sees those that apply to its own.",
  }),
  cursor: z
    .string()
    .regex(/^[1-9]\d{0,18}$/, "must be the nextCursor of a previous page")
    .transform(BigInt)
    .optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(DEFAULT_PAGE),
});

// ---- responses ----

const timestamp = z.iso.datetime();

export const notificationSchema = z
  .object({
    id: z.uuid(),
    resendEmailId: z.string().nullable(),
    to: z.array(z.string()),
    from: z.string(),
    subject: z.string(),
    tenant: z.string().nullable(),
    tags: z.record(z.string(), z.string()),
    category: z.string().nullable(),
    metadata: jsonObject.nullable(),
    idempotencyKey: z.string().nullable(),
    suppressionBypassed: z.boolean(),
    sendError: sendErrorSchema
      .extend({ at: timestamp })
      .nullable()
      .meta({ description: "Resend refused the send (reported by the SDK); null once an email id is attached." }),
    state: z.enum(DELIVERY_STATES),
    stateChangedAt: timestamp.nullable(),
    stateEventType: z.string().nullable(),
    openCount: z.int(),
    clickCount: z.int(),
    firstOpenedAt: timestamp.nullable(),
    firstClickedAt: timestamp.nullable(),
    createdAt: timestamp,
    updatedAt: timestamp,
    resendCheck: z
      .object({
        at: timestamp,
        outcome: z.enum(["healed", "current", "not_found"]),
        lastEvent: z.string().nullable(),
        appended: z.string().optional(),
      })
      .optional()
      .meta({
        description:
          "Present once the sweeper asked Resend's API about it (emails.get): what it answered (not_found: a 404), and the event it appended, if any.",
      }),
  })
  .register(components, { id: "Notification" });
export type NotificationJson = z.infer<typeof notificationSchema>;

export const recordResultSchema = z
  .object({ created: z.boolean(), notification: notificationSchema })
  .register(components, { id: "RecordResult" });

export const recordBatchResultSchema = z
  .object({ data: z.array(recordResultSchema) })
  .register(components, { id: "RecordBatchResult" });

export const attachBatchResultSchema = z
  .object({
    data: z.array(
      z.object({
        id: z.string(),
        status: z.enum(["attached", "refusal_recorded", "conflict", "not_found"]),
        notification: notificationSchema.nullable(),
        detail: z.string().optional().meta({ description: "Why it was not attached." }),
      }),
    ),
  })
  .register(components, { id: "AttachBatchResult" });

export const notificationPageSchema = z
  .object({ data: z.array(notificationSchema), nextCursor: z.string().nullable() })
  .register(components, { id: "NotificationPage" });

export const suppressionSchema = z
  .object({
    email: z.string(),
    tenant: z.string().nullable().meta({
      description:
        "The list it is on: a tenant's (SUPPRESSION_SCOPE=tenant), or null, the list every tenant's sends obey.",
    }),
    reason: z.enum(SUPPRESSION_REASONS),
    since: timestamp,
    expiresAt: timestamp.nullable(),
    sourceEventId: z.string().nullable().meta({ description: "svix-id of the event that caused it; null by hand." }),
    note: z.string().nullable(),
    source: z.enum(["mailstate", "resend"]).meta({
      description:
        "Who decided it: mailstate (its policy, or by hand) or resend (Resend's own list, from its webhooks).",
    }),
    onResendList: z.boolean().meta({
      description:
        "Resend's own suppression list holds the address (as its webhooks said): Resend refuses sends to it.",
    }),
  })
  .register(components, { id: "Suppression" });
export type SuppressionJson = z.infer<typeof suppressionSchema>;

export const auditEntrySchema = z
  .object({
    action: z.enum(["added", "removed"]),
    at: timestamp,
    tenant: z.string().nullable().meta({ description: "The list changed (null: the list of every tenant)." }),
    by: z
      .object({
        keyId: z
          .string()
          .nullable()
          .meta({ description: "The API key's id; null for a key of API_KEYS or the ops CLI." }),
        label: z.string().meta({ description: "The key's name, `API_KEYS sha256:…`, or `ops CLI (user)`." }),
      })
      .meta({ description: "Who did it." }),
    note: z.string().nullable(),
  })
  .register(components, { id: "SuppressionChange" });
export type AuditEntryJson = z.infer<typeof auditEntrySchema>;

const historyField = z.array(auditEntrySchema).meta({
  description: "Manual additions and removals of the address on the lists that apply, newest first (up to 100).",
});

export const suppressionDetailSchema = suppressionSchema
  .extend({ history: historyField })
  .register(components, { id: "SuppressionWithHistory" });

export const suppressionPageSchema = z
  .object({ data: z.array(suppressionSchema), nextCursor: z.string().nullable() })
  .register(components, { id: "SuppressionPage" });

export const suppressionStatusSchema = z
  .object({
    email: z.string(),
    suppressed: z.boolean(),
    reason: z.enum(SUPPRESSION_REASONS).nullable(),
    since: timestamp.nullable(),
    onResendList: z.boolean().optional().meta({
      description:
        "Present (true) when Resend's own suppression list holds the address: a bypassing send is still refused by Resend.",
    }),
  })
  .register(components, { id: "SuppressionStatus" });
export type SuppressionStatusJson = z.infer<typeof suppressionStatusSchema>;

export const checkSuppressionsResultSchema = z
  .object({
    data: z.array(suppressionStatusSchema).meta({ description: "One per distinct address, in the order asked." }),
    suppressed: z.array(suppressionStatusSchema).meta({ description: "Only the suppressed ones." }),
  })
  .register(components, { id: "CheckSuppressionsResult" });

export const timelineEntrySchema = z
  .object({
    svixId: z.string(),
    type: z.string(),
    occurredAt: timestamp.meta({ description: "The event's own time (its top-level created_at)." }),
    receivedAt: timestamp.meta({ description: "When mailstate received it (its API verified the webhook)." }),
    replayedAt: timestamp.nullable().meta({
      description: "For an event that arrived before any notification carried its email id: when it was applied.",
    }),
    kind: z.enum(["delivery", "engagement", "suppression_source", "other"]),
    stateBefore: z.enum(DELIVERY_STATES),
    stateAfter: z.enum(DELIVERY_STATES),
    moved: z.boolean().meta({ description: "Whether this event changed the state." }),
    recipients: z.array(z.string()),
    engagement: z
      .object({ link: z.string().nullable(), userAgent: z.string().nullable(), ipAddress: z.string().nullable() })
      .nullable()
      .meta({ description: "For opens and clicks (the link for clicks)." }),
    detail: jsonObject
      .nullable()
      .meta({ description: "What Resend said: `bounce` for bounces, `failed` for failures, `suppressed`, …" }),
    source: z.enum(["webhook", "api"]).meta({
      description:
        "webhook, or api: learned by the sweeper from Resend's API (emails.get last_event), timed when it asked.",
    }),
  })
  .register(components, { id: "TimelineEntry" });
export type TimelineEntryJson = z.infer<typeof timelineEntrySchema>;

export const timelineSchema = z
  .object({
    notification: notificationSchema,
    state: z.enum(DELIVERY_STATES).meta({ description: "The state after the last event (recorded when none)." }),
    events: z.array(timelineEntrySchema).meta({
      description:
        "Every delivery event, and one page (engagementLimit) of opens and clicks, in event time, each with the state after it.",
    }),
    engagementTotal: z
      .int()
      .meta({ description: "Opens and clicks of the notification in all (openCount + clickCount)." }),
    nextEngagementCursor: z.string().nullable().meta({
      description:
        "Pass as engagementCursor for the next page of opens and clicks (the delivery events come again with it); null on the last page.",
    }),
    recipients: z.array(suppressionStatusSchema),
    invalidEvents: z
      .array(
        z.object({
          svixId: z.string(),
          type: z.string(),
          occurredAt: timestamp,
          receivedAt: timestamp,
          problem: z.string().meta({ description: "What the schema of the event's type rejected." }),
        }),
      )
      .meta({
        description:
          "Events about this notification that the schema rejected: kept raw, not folded into the state. " +
          "`mailstate reprocess --status invalid` applies them once a newer mailstate parses them.",
      }),
  })
  .register(components, { id: "Timeline" });
export type TimelineJson = z.infer<typeof timelineSchema>;

// --- Reputation (issue 18) ---

export const REPUTATION_WINDOWS = ["24h", "7d", "30d"] as const;
export type ReputationWindow = (typeof REPUTATION_WINDOWS)[number];

export const reputationQuery = z.object({
  tenant: actingTenantField.meta({
    description:
      "Admin keys: one tenant's sends (default: every tenant's). A tenant's key sees its own; naming another answers 403.",
  }),
  category: shortText(200).optional().meta({ description: "Only notifications recorded with this category." }),
  fromDomain: shortText(253)
    .transform((domain) => domain.toLowerCase())
    .optional()
    .meta({ description: "Only notifications sent from this domain (the domain of `from`, lowercased)." }),
  window: z
    .enum(REPUTATION_WINDOWS, { error: `must be one of ${REPUTATION_WINDOWS.join(", ")}` })
    .default("24h")
    .meta({
      description: "24h: 24 hourly points. 7d, 30d: 7 or 30 daily points (UTC days). The current one is partial.",
    }),
});

const rate = z.number().nullable().meta({ description: "A fraction (0.01 is 1%); null when its denominator is zero." });

const reputationCounts = {
  sent: z.int().meta({ description: "Notifications Resend accepted (email.sent or any later delivery event)." }),
  delivered: z.int().meta({ description: "Notifications with email.delivered." }),
  bounced: z.int().meta({ description: "hardBounced + softBounced: notifications that bounced, each once." }),
  hardBounced: z.int().meta({ description: "Notifications with a Permanent bounce." }),
  softBounced: z
    .int()
    .meta({ description: "Notifications with a Transient or Undetermined bounce and no Permanent one." }),
  complained: z.int().meta({ description: "Notifications with a spam complaint." }),
  bounceRate: rate.meta({ description: "bounced / sent; null when nothing was sent." }),
  complaintRate: rate.meta({ description: "complained / delivered; null when nothing was delivered." }),
};

export const reputationSchema = z
  .object({
    window: z.enum(REPUTATION_WINDOWS),
    tenant: z.string().nullable().meta({ description: "null: every tenant's sends (admin keys only)." }),
    category: z.string().nullable(),
    fromDomain: z.string().nullable(),
    since: z.iso
      .datetime()
      .meta({ description: "Start of the first point: counts are of notifications recorded since." }),
    ...reputationCounts,
    series: z.array(z.object({ at: z.iso.datetime(), ...reputationCounts })).meta({
      description: "One point per hour (24h) or UTC day (7d, 30d), oldest first, empty ones included.",
    }),
  })
  .register(components, { id: "Reputation" });
export type ReputationJson = z.infer<typeof reputationSchema>;

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.int(),
    detail: z.string().optional(),
    errors: z
      .array(z.object({ location: z.enum(["body", "query", "params"]), path: z.string(), message: z.string() }))
      .optional(),
    history: historyField
      .optional()
      .meta({ description: "GET /v1/suppressions/{email} of an address not suppressed: who removed it, and when." }),
  })
  .register(components, { id: "Problem" });

const erasedCount = (description: string) => z.int().min(0).meta({ description });

/** DELETE /v1/recipients/{email}: what was removed, by kind (PostgreSQL rows, then Redis jobs). */
export const erasureSchema = z
  .object({
    email: z.string().meta({ description: "The address erased, normalized (trimmed, lowercased)." }),
    tenant: z
      .string()
      .nullable()
      .meta({ description: "The tenant erased within; null: every tenant, and data attributed to none." }),
    erased: z.object({
      notifications: erasedCount("Notifications with the address among their recipients."),
      deliveryEvents: erasedCount("Their delivery events."),
      engagementEvents: erasedCount("Their opens and clicks."),
      unattachedEvents: erasedCount(
        "Events attached to no notification that name the address (parked, contact.*, suppression.*, invalid); an erase everywhere only.",
      ),
      clickLinks: erasedCount(
        "Click links of other notifications that carried the address (query string and fragment cut off).",
      ),
      deadLetters: erasedCount("Dead letters of its notifications, or (everywhere) naming the address."),
      outboundMessages: erasedCount("Outbound webhook messages about it."),
      softBounceCounters: erasedCount("Its soft-bounce counters."),
      auditEntries: erasedCount("Audit entries whose address became its sha256."),
      parkedJobs: erasedCount("Jobs of the unmatched queue."),
      inboxJobs: erasedCount("Waiting, delayed, completed and failed inbox jobs removed whole."),
      inboxEvents: erasedCount(
        "Events taken out of inbox batch jobs that also hold others' events (the job stays, with those).",
      ),
      outboundJobs: erasedCount("Jobs of the outbound webhooks queue."),
      resendJobs: erasedCount("Finished or failed calls to Resend's API about it."),
    }),
  })
  .register(components, { id: "Erasure" });
export type ErasureJson = z.infer<typeof erasureSchema>;

// Outbound webhooks: endpoints as data, and the messages mailstate signs and sends to them.

export const OUTBOUND_EVENTS = ["notification.state_changed", "suppression.created", "suppression.removed"] as const;

export const createWebhookEndpointBody = z
  .object({
    url: z
      .url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" })
      .max(2_000)
      .meta({ description: "Where messages are POSTed. Loopback and private addresses are refused." }),
    events: z
      .array(z.enum(OUTBOUND_EVENTS))
      .min(1)
      .transform((events) => [...new Set(events)])
      .meta({ description: "The event types it receives." }),
    description: text().max(500).optional(),
    tenant: actingTenantField,
  })
  .register(components, { id: "CreateWebhookEndpoint" });

export const webhookEndpointSchema = z
  .object({
    id: z.uuid(),
    url: z.string(),
    events: z.array(z.enum(OUTBOUND_EVENTS)),
    description: z.string().nullable(),
    tenant: z
      .string()
      .nullable()
      .meta({ description: "Null: a global endpoint (made with an admin key naming no tenant)." }),
    createdAt: timestamp,
    disabledAt: timestamp
      .nullable()
      .meta({ description: "Set when every delivery failed for a day (OUTBOUND_DISABLE_AFTER_MS)." }),
    disabledReason: z.string().nullable(),
    failingSince: timestamp.nullable().meta({ description: "The first failed attempt since the last success." }),
    previousSecretExpiresAt: timestamp
      .nullable()
      .meta({ description: "After a rotation: until then, messages carry a signature with the previous secret too." }),
  })
  .register(components, { id: "WebhookEndpoint" });
export type WebhookEndpointJson = z.infer<typeof webhookEndpointSchema>;

export const createdWebhookEndpointSchema = z
  .object({
    id: z.uuid(),
    url: z.string(),
    events: z.array(z.enum(OUTBOUND_EVENTS)),
    secret: z.string().meta({ description: "`whsec_…`: shown here once. Verify messages with it (svix, or the SDK)." }),
  })
  .register(components, { id: "CreatedWebhookEndpoint" });

export const rotatedSecretSchema = z
  .object({
    id: z.uuid(),
    secret: z.string().meta({ description: "The new `whsec_…`, shown once." }),
    previousSecretExpiresAt: timestamp.meta({
      description: "Until then messages are signed with the previous secret too, so either verifies.",
    }),
  })
  .register(components, { id: "RotatedWebhookSecret" });

export const webhookEndpointParams = z.object({ id: z.uuid({ error: "must be a webhook endpoint id (a UUID)" }) });

const messageEnvelope = <T extends z.ZodType>(type: z.ZodType, data: T) =>
  z.object({
    type,
    timestamp: timestamp.meta({ description: "When the message was written (in the transaction of the change)." }),
    data,
  });

export const stateChangedMessageSchema = messageEnvelope(
  z.literal("notification.state_changed"),
  z.object({
    notificationId: z.uuid(),
    tenant: z.string().nullable(),
    category: z.string().nullable(),
    resendEmailId: z.string().nullable(),
    from: z.enum(DELIVERY_STATES),
    to: z.enum(DELIVERY_STATES),
    at: timestamp.meta({ description: "The time of the event that set the new state (Resend's created_at)." }),
    event: z.object({ type: z.string(), svixId: z.string() }),
  }),
)
  .meta({
    description:
      "Sent once per real change of a notification's folded state. A redelivered or late event that does not change it sends nothing.",
  })
  .register(components, { id: "NotificationStateChangedMessage" });

export const suppressionMessageSchema = messageEnvelope(
  z.enum(["suppression.created", "suppression.removed"]),
  z.object({
    email: z.string(),
    reason: z.enum(SUPPRESSION_REASONS),
    tenant: z.string().optional().meta({ description: "The tenant's list; absent for the list every tenant obeys." }),
    at: timestamp,
  }),
)
  .meta({
    description:
      "An address added to or removed from a suppression list. A tenant's endpoints hear of their own list only; global endpoints of every list.",
  })
  .register(components, { id: "SuppressionChangedMessage" });
