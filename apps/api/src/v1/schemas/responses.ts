// What /v1 answers: notifications, their timelines, suppressions, erasures and problems. Routes type
// their JSON by these; the OpenAPI document describes them as answered.
import { DELIVERY_STATES, SUPPRESSION_REASONS } from "@mailstate/state-machine";
import { z } from "zod";
import { components, jsonObject, timestamp } from "./fields.ts";
import { sendErrorSchema } from "./requests.ts";

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

const auditEntrySchema = z
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

const suppressionStatusSchema = z
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

const timelineEntrySchema = z
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
