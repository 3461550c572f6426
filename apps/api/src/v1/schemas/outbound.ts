// Outbound webhooks: the endpoints applications register, and the messages mailstate signs and sends
// to them. The event names are the outbox's own (@mailstate/db), so the two cannot disagree.
import { OUTBOUND_EVENT_TYPES, type OutboundEventType } from "@mailstate/db";
import { DELIVERY_STATES, SUPPRESSION_REASONS } from "@mailstate/state-machine";
import { z } from "zod";
import { actingTenantField, components, text, timestamp } from "./fields.ts";

export const createWebhookEndpointBody = z
  .object({
    url: z
      .url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" })
      .max(2_000)
      .meta({ description: "Where messages are POSTed. Loopback and private addresses are refused." }),
    events: z
      .array(z.enum(OUTBOUND_EVENT_TYPES))
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
    events: z.array(z.enum(OUTBOUND_EVENT_TYPES)),
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
    events: z.array(z.enum(OUTBOUND_EVENT_TYPES)),
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

const stateChangedMessageSchema = messageEnvelope(
  z.literal("notification.state_changed" satisfies OutboundEventType),
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

const SUPPRESSION_MESSAGE_TYPES = [
  "suppression.created",
  "suppression.removed",
] as const satisfies readonly OutboundEventType[];

const suppressionMessageSchema = messageEnvelope(
  z.enum(SUPPRESSION_MESSAGE_TYPES),
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

/** Every outbound event, the schema of its message and what it means: the document's `webhooks`. */
export const OUTBOUND_MESSAGES = {
  "notification.state_changed": {
    schema: stateChangedMessageSchema,
    summary: "A notification's folded delivery state changed",
  },
  "suppression.created": { schema: suppressionMessageSchema, summary: "An address was suppressed" },
  "suppression.removed": { schema: suppressionMessageSchema, summary: "An address was taken off a suppression list" },
} satisfies Record<OutboundEventType, { schema: z.ZodType; summary: string }>;
