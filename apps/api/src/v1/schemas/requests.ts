// What /v1 accepts: bodies, path parameters and queries of the notification and suppression routes,
// each parsed once at the edge (validate.ts) and documented as accepted, before its transforms.
import { messageIdKey } from "@mailstate/db";
import { DELIVERY_STATES, EMAIL_ADDRESS, normalizeEmail } from "@mailstate/state-machine";
import { z } from "zod";
import { DEFAULT_ENGAGEMENT_PAGE, decodeEngagementCursor, MAX_ENGAGEMENT_PAGE } from "../../timeline.ts";
import {
  actingTenantField,
  components,
  DEFAULT_PAGE,
  jsonObject,
  MAX_PAGE,
  shortText,
  tenantName,
  text,
  unstorable,
} from "./fields.ts";

const MAX_RECIPIENTS = 50;
export const MAX_BATCH = 100;
export const MAX_CHECK = 1_000;

export const MAX_METADATA_DEPTH = 20;
export const MAX_METADATA_BYTES = 16_384;

/** A record whose keys are checked too; zod's own message for a bad key does not say what is wrong. */
const textRecord = <V extends z.ZodType>(key: z.ZodString, value: V) =>
  z.record(key, value, {
    error: (issue) =>
      issue.code === "invalid_key" ? `key ${issue.issues.map((inner) => inner.message).join("; ")}` : undefined,
  });

/** `Ada <Ada@Example.com>` and ` ada@example.com ` both become `ada@example.com`. */
const emailAddress = text()
  .max(320)
  .transform(normalizeEmail)
  .pipe(z.string().regex(EMAIL_ADDRESS, "must be an email address"))
  .meta({ description: "An email address, optionally `Name <address>`; stored trimmed and lowercased." });

const recipients = z
  .union([emailAddress, z.array(emailAddress).min(1).max(MAX_RECIPIENTS)])
  .transform((to) => [...new Set(Array.isArray(to) ? to : [to])])
  .meta({ description: `One address or a list of 1 to ${MAX_RECIPIENTS}.` });

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
const messageIdQuery = text()
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
