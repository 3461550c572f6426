// Zod schemas for Resend's webhook payloads. Objects are loose (fields Resend
// adds later pass through); the fields mailstate relies on are checked.
import { z } from "zod";
import { isResendEventType, type ResendEventType } from "./event-types.ts";
import { isResendTimestamp } from "./timestamps.ts";

/** An ISO 8601 date-time `parseResendTimestamp` accepts; stays a string. */
export const resendTimestampSchema = z.string().refine(isResendTimestamp, { error: "Invalid ISO 8601 timestamp" });

// Optional ids: Resend omits them or, now and then, writes null.
const optionalString = z
  .string()
  .nullable()
  .transform((value) => value ?? undefined)
  .optional();

// A lone address is read as a list of one.
const recipientsSchema = z.union([z.array(z.string()), z.string().transform((address) => [address])]);

const tagValueSchema = z.union([z.string(), z.number(), z.boolean()]).transform(String);

/** Tags as Resend echoes them (`{name: value}` or `[{name, value}]`), normalized to a record. */
export const tagsSchema = z
  .union([z.record(z.string(), tagValueSchema), z.array(z.object({ name: z.string(), value: tagValueSchema }))])
  .nullish()
  .transform((tags): Record<string, string> => {
    if (tags == null) return {};
    if (!Array.isArray(tags)) return tags;
    return Object.fromEntries(tags.map((tag) => [tag.name, tag.value]));
  });

/** The data every event about a sent email carries. */
export const emailDataSchema = z.looseObject({
  email_id: z.string().min(1),
  created_at: z.string(),
  from: z.string(),
  to: recipientsSchema,
  // Not relied on, and an email may go out without one.
  subject: z
    .string()
    .nullish()
    .transform((subject) => subject ?? ""),
  message_id: optionalString,
  broadcast_id: optionalString,
  template_id: optionalString,
  tags: tagsSchema,
});

export const BOUNCE_TYPES = ["Permanent", "Transient", "Undetermined"] as const;
export type BounceType = (typeof BOUNCE_TYPES)[number];

// The suppression policy branches on it, so any other value is rejected; the
// letter case is forgiven.
const bounceTypeSchema = z.preprocess(
  (value) =>
    typeof value === "string" ? (BOUNCE_TYPES.find((t) => t.toLowerCase() === value.toLowerCase()) ?? value) : value,
  z.enum(BOUNCE_TYPES),
);

export const bounceSchema = z.looseObject({
  type: bounceTypeSchema,
  subType: z.string(),
  message: z.string(),
  // Resend sends a list of SMTP diagnostics; a single string is read as one.
  diagnosticCode: z
    .union([z.array(z.string()), z.string().transform((code) => [code])])
    .nullable()
    .transform((codes) => codes ?? undefined)
    .optional(),
});

export const clickSchema = z.looseObject({
  link: z.string(),
  timestamp: resendTimestampSchema,
  ipAddress: optionalString,
  userAgent: optionalString,
});

export const failedSchema = z.looseObject({ reason: z.string() });

export const suppressedSchema = z.looseObject({ message: z.string(), type: z.string() });

export const receivedEmailDataSchema = z.looseObject({
  email_id: z.string().min(1),
  created_at: z.string(),
  from: z.string(),
  to: recipientsSchema,
  subject: z
    .string()
    .nullish()
    .transform((subject) => subject ?? ""),
  message_id: optionalString,
});

export const contactDataSchema = z.looseObject({
  id: z.string(),
  email: z.string(),
  audience_id: optionalString,
  created_at: optionalString,
  updated_at: optionalString,
  unsubscribed: z.boolean().optional(),
});

export const domainDataSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  status: optionalString,
  region: optionalString,
  created_at: optionalString,
});

export const suppressionDataSchema = z.looseObject({
  id: z.string(),
  email: z.string(),
  // Documented as bounce | complaint | manual; kept open for values to come.
  origin: optionalString,
  source_id: optionalString,
  created_at: optionalString,
});

function eventSchema<const T extends ResendEventType, D extends z.ZodType>(type: T, data: D) {
  return z.looseObject({ type: z.literal(type), created_at: resendTimestampSchema, data });
}

export const emailScheduledEventSchema = eventSchema("email.scheduled", emailDataSchema);
export const emailSentEventSchema = eventSchema("email.sent", emailDataSchema);
export const emailDeliveredEventSchema = eventSchema("email.delivered", emailDataSchema);
export const emailDeliveryDelayedEventSchema = eventSchema("email.delivery_delayed", emailDataSchema);
export const emailBouncedEventSchema = eventSchema("email.bounced", emailDataSchema.extend({ bounce: bounceSchema }));
export const emailComplainedEventSchema = eventSchema("email.complained", emailDataSchema);
export const emailOpenedEventSchema = eventSchema("email.opened", emailDataSchema);
export const emailClickedEventSchema = eventSchema("email.clicked", emailDataSchema.extend({ click: clickSchema }));
export const emailFailedEventSchema = eventSchema("email.failed", emailDataSchema.extend({ failed: failedSchema }));
export const emailSuppressedEventSchema = eventSchema(
  "email.suppressed",
  emailDataSchema.extend({ suppressed: suppressedSchema }),
);
export const emailReceivedEventSchema = eventSchema("email.received", receivedEmailDataSchema);
export const contactCreatedEventSchema = eventSchema("contact.created", contactDataSchema);
export const contactUpdatedEventSchema = eventSchema("contact.updated", contactDataSchema);
export const contactDeletedEventSchema = eventSchema("contact.deleted", contactDataSchema);
export const domainCreatedEventSchema = eventSchema("domain.created", domainDataSchema);
export const domainUpdatedEventSchema = eventSchema("domain.updated", domainDataSchema);
export const domainDeletedEventSchema = eventSchema("domain.deleted", domainDataSchema);
export const suppressionAddedEventSchema = eventSchema("suppression.added", suppressionDataSchema);
export const suppressionRemovedEventSchema = eventSchema("suppression.removed", suppressionDataSchema);

/** One schema per known type. */
export const eventSchemas = {
  "email.scheduled": emailScheduledEventSchema,
  "email.sent": emailSentEventSchema,
  "email.delivered": emailDeliveredEventSchema,
  "email.delivery_delayed": emailDeliveryDelayedEventSchema,
  "email.bounced": emailBouncedEventSchema,
  "email.complained": emailComplainedEventSchema,
  "email.opened": emailOpenedEventSchema,
  "email.clicked": emailClickedEventSchema,
  "email.failed": emailFailedEventSchema,
  "email.suppressed": emailSuppressedEventSchema,
  "email.received": emailReceivedEventSchema,
  "contact.created": contactCreatedEventSchema,
  "contact.updated": contactUpdatedEventSchema,
  "contact.deleted": contactDeletedEventSchema,
  "domain.created": domainCreatedEventSchema,
  "domain.updated": domainUpdatedEventSchema,
  "domain.deleted": domainDeletedEventSchema,
  "suppression.added": suppressionAddedEventSchema,
  "suppression.removed": suppressionRemovedEventSchema,
} as const satisfies { [T in ResendEventType]: z.ZodType<{ type: T }> };

/** The events about a sent email (everything `email.*` except `email.received`). */
export const emailEventSchema = z.discriminatedUnion("type", [
  emailScheduledEventSchema,
  emailSentEventSchema,
  emailDeliveredEventSchema,
  emailDeliveryDelayedEventSchema,
  emailBouncedEventSchema,
  emailComplainedEventSchema,
  emailOpenedEventSchema,
  emailClickedEventSchema,
  emailFailedEventSchema,
  emailSuppressedEventSchema,
]);

/** Every known type, discriminated on `type`; an unknown type fails here. */
export const knownResendEventSchema = z.discriminatedUnion("type", [
  ...emailEventSchema.options,
  emailReceivedEventSchema,
  contactCreatedEventSchema,
  contactUpdatedEventSchema,
  contactDeletedEventSchema,
  domainCreatedEventSchema,
  domainUpdatedEventSchema,
  domainDeletedEventSchema,
  suppressionAddedEventSchema,
  suppressionRemovedEventSchema,
]);

/** An event of a type this package does not model: its type and raw data, kept as sent. */
export const otherResendEventSchema = z.looseObject({
  type: z.string().refine((type) => !isResendEventType(type), { error: "Known event type" }),
  created_at: resendTimestampSchema,
  data: z.unknown(),
});

export type KnownResendEvent = z.output<typeof knownResendEventSchema>;
export type OtherResendEvent = z.output<typeof otherResendEventSchema>;
/** A parsed webhook payload. Narrow with `isKnownEvent` / `isEmailEvent` before switching on `type`. */
export type ResendEvent = KnownResendEvent | OtherResendEvent;
export type EmailEvent = z.output<typeof emailEventSchema>;
export type ResendEventOf<T extends ResendEventType> = z.output<(typeof eventSchemas)[T]>;
/** A webhook body as Resend sends it (before tags and optional fields are normalized). */
export type ResendEventPayload = z.input<typeof knownResendEventSchema>;
export type ResendEventPayloadOf<T extends ResendEventType> = z.input<(typeof eventSchemas)[T]>;
export type EmailData = z.output<typeof emailDataSchema>;
export type Bounce = z.output<typeof bounceSchema>;
export type Click = z.output<typeof clickSchema>;

/**
 * The webhook payload: a known type is checked against its own schema (so
 * errors name the faulty field), any other type parses as an "other" event.
 */
export const resendEventSchema: z.ZodType<ResendEvent, unknown> = z
  .looseObject({ type: z.string() })
  .transform((input, ctx): ResendEvent => {
    const schema = isResendEventType(input.type) ? eventSchemas[input.type] : otherResendEventSchema;
    const result = schema.safeParse(input);
    if (result.success) return result.data;
    // Re-raised as they are: their paths already name the field from the root.
    for (const issue of result.error.issues) ctx.issues.push({ ...issue, input } as z.core.$ZodRawIssue);
    return z.NEVER;
  });
