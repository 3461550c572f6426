// What the ops tests share: basic-auth headers, Resend events about one email, and posting them
// signed to /webhooks/resend as Resend does.
import { randomUUID } from "node:crypto";
import { type CommonEventOverrides, makeEvent, type ResendEventType } from "@mailstate/resend-events";
import { Webhook } from "svix";
import { TEST_WEBHOOK_SECRET } from "../helpers/stack.ts";

export const OPS_USERNAME = "support-desk";
export const OPS_PASSWORD = "correct horse battery staple";
export const OPS_ENV = { OPS_USERNAME, OPS_PASSWORD };

export function basicAuth(user = OPS_USERNAME, password = OPS_PASSWORD): string {
  return `Basic ${Buffer.from(`${user}:${password}`, "utf8").toString("base64")}`;
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

/** Post an event to /webhooks/resend with Svix headers, signed now; answers its svix-id. */
export async function deliverWebhook(baseUrl: string, body: object): Promise<string> {
  const id = `msg_${randomUUID().replaceAll("-", "")}`;
  const payload = JSON.stringify(body);
  const now = new Date();
  const response = await fetch(`${baseUrl}/webhooks/resend`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "svix-id": id,
      "svix-timestamp": String(Math.floor(now.getTime() / 1_000)),
      "svix-signature": new Webhook(TEST_WEBHOOK_SECRET).sign(id, now, payload),
    },
    body: payload,
  });
  if (response.status !== 200) throw new Error(`webhook answered ${response.status}: ${await response.text()}`);
  return id;
}

/** Poll until the check answers a value (not undefined), or fail with what it last saw. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
