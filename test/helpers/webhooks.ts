// Webhooks signed as Resend (Svix) signs them, for tests that post to the real API.
import { randomUUID } from "node:crypto";
import { type CommonEventOverrides, makeEvent, type ResendEventType } from "@mailstate/resend-events";
import { Webhook } from "svix";

export const TEST_WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/** The JSON content type and the three Svix headers for a body, signed with the secret at `at`. */
export function signedWebhookHeaders(
  svixId: string,
  body: string,
  { secret = TEST_WEBHOOK_SECRET, at = new Date() }: { secret?: string; at?: Date } = {},
): Record<string, string> {
  return {
    "content-type": "application/json",
    "svix-id": svixId,
    "svix-timestamp": String(Math.floor(at.getTime() / 1_000)),
    "svix-signature": new Webhook(secret).sign(svixId, at, body),
  };
}

export function newSvixId(): string {
  return `msg_${randomUUID().replaceAll("-", "")}`;
}

/** POST an event to /webhooks/resend as Resend does, signed now; answers its svix-id, throws unless 200. */
export async function deliverWebhook(baseUrl: string, event: object): Promise<string> {
  const svixId = newSvixId();
  const body = JSON.stringify(event);
  const response = await fetch(`${baseUrl}/webhooks/resend`, {
    method: "POST",
    headers: signedWebhookHeaders(svixId, body),
    body,
  });
  if (response.status !== 200) throw new Error(`webhook answered ${response.status}: ${await response.text()}`);
  return svixId;
}

/** A Resend event about one email, stamped at a given second past 10:00 on 2026-11-22. */
export function resendEvent(
  type: ResendEventType,
  emailId: string,
  second: number,
  to: string,
  data: Record<string, unknown> = {},
) {
  const at = `2026-11-22T10:00:${String(second).padStart(2, "0")}.000Z`;
  return makeEvent(type, { created_at: at, data: { email_id: emailId, to: [to], ...data } } as CommonEventOverrides);
}
