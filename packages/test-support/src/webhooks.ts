// Webhooks as Resend (Svix) signs them, and the events in them, for tests that post to the real API
// or enqueue as it does.
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
export async function deliverWebhook(baseUrl: string, event: object, svixId = newSvixId()): Promise<string> {
  const body = JSON.stringify(event);
  const response = await fetch(`${baseUrl}/webhooks/resend`, {
    method: "POST",
    headers: signedWebhookHeaders(svixId, body),
    body,
  });
  if (response.status !== 200) throw new Error(`webhook answered ${response.status}: ${await response.text()}`);
  return svixId;
}

/** A Resend event for one email at a given second past 10:00 on 2026-11-22, as Resend would post it. */
export function eventFor<T extends ResendEventType>(
  type: T,
  emailId: string,
  second: number,
  data: Record<string, unknown> = {},
  to = ["ada@example.com"],
) {
  const at = `2026-11-22T10:00:${String(second).padStart(2, "0")}.000Z`;
  return makeEvent(type, { created_at: at, data: { email_id: emailId, to, ...data } } as CommonEventOverrides);
}

/** eventFor with one recipient, in the order the end-to-end tests write it. */
export function resendEvent(
  type: ResendEventType,
  emailId: string,
  second: number,
  to: string,
  data: Record<string, unknown> = {},
) {
  return eventFor(type, emailId, second, data, [to]);
}
