// POST /emails and POST /emails/batch: validated as Resend does, then kept (and, once answered,
// announced to the webhook sender).
import { validateEmail } from "../posted-email.ts";
import { fail } from "../resend-error.ts";
import type { Route } from "../router.ts";
import type { StandinState } from "../state.ts";

const MAX_BATCH = 100;

export function sendRoutes({ emails }: StandinState): Route[] {
  return [
    {
      name: "POST /emails",
      method: "POST",
      pattern: /^\/emails\/?$/,
      keys: [],
      handler: ({ body, idempotencyKey }) => {
        const valid = validateEmail(body, "");
        const scheduledAt = valid.scheduled_at;
        if (scheduledAt !== undefined && (typeof scheduledAt !== "string" || scheduledAt.trim() === ""))
          throw fail(422, "validation_error", "Invalid `scheduled_at` field.");
        const email = emails.accept(valid, {
          ...(idempotencyKey ? { idempotencyKey } : {}),
          ...(scheduledAt ? { scheduledAt } : {}),
        });
        return { status: 200, body: { id: email.id } };
      },
    },
    {
      name: "POST /emails/batch",
      method: "POST",
      pattern: /^\/emails\/batch\/?$/,
      keys: [],
      handler: ({ body, idempotencyKey }) => {
        if (!Array.isArray(body)) throw fail(422, "validation_error", "The request body must be an array of emails.");
        if (body.length === 0) throw fail(422, "validation_error", "The batch must contain at least one email.");
        if (body.length > MAX_BATCH)
          throw fail(422, "validation_error", `Too many emails in the batch: the maximum is ${MAX_BATCH}.`);
        // Strict validation, as Resend's default: one bad email refuses the whole batch.
        const valid = body.map((item, index) => validateEmail(item, `[${index}].`));
        const call = emails.batchCalls.length;
        const ids = valid.map(
          (item) => emails.accept(item, { batchCall: call, ...(idempotencyKey ? { idempotencyKey } : {}) }).id,
        );
        emails.batchCalls.push({ size: ids.length, ids, ...(idempotencyKey ? { idempotencyKey } : {}) });
        return { status: 200, body: { data: ids.map((id) => ({ id })) } };
      },
    },
  ];
}
