// Receiving mailstate's outbound webhooks in the app: verify the Standard Webhooks signature with
// svix's own verifier, then parse. `verify` is pure (bytes, headers, secret, clock) and needs no API.
import { Webhook } from "svix";
import { MailstateError } from "./errors.ts";
import type { DeliveryState, SuppressionReason } from "./types.ts";

/** `notification.state_changed`: sent once per real change of a notification's folded state. */
export interface NotificationStateChanged {
  type: "notification.state_changed";
  /** When mailstate wrote the message (in the transaction of the change). */
  timestamp: string;
  data: {
    notificationId: string;
    tenant: string | null;
    category: string | null;
    resendEmailId: string | null;
    from: DeliveryState;
    to: DeliveryState;
    /** The time of the Resend event that set the new state. */
    at: string;
    event: { type: string; svixId: string };
  };
}

/** `suppression.created` and `suppression.removed`: an address added to or taken off a list. */
export interface SuppressionChanged {
  type: "suppression.created" | "suppression.removed";
  timestamp: string;
  data: {
    email: string;
    reason: SuppressionReason;
    /** The tenant's list; absent for the list every tenant obeys. */
    tenant?: string;
    at: string;
  };
}

export type WebhookMessage = NotificationStateChanged | SuppressionChanged;
export type WebhookEventType = WebhookMessage["type"];

/** Request headers as node's `req.headers`, a fetch `Headers`, or a plain record. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

const NAMES = ["webhook-id", "webhook-timestamp", "webhook-signature"] as const;

function headerRecord(headers: WebhookHeaders): Record<string, string> {
  const get = (name: string): string | undefined => {
    if (typeof (headers as Headers).get === "function") return (headers as Headers).get(name) ?? undefined;
    const record = headers as Record<string, string | string[] | undefined>;
    const value = record[name] ?? Object.entries(record).find(([key]) => key.toLowerCase() === name)?.[1];
    return Array.isArray(value) ? value.join(" ") : value;
  };
  const out: Record<string, string> = {};
  for (const name of NAMES) {
    const value = get(name);
    if (value === undefined) throw new MailstateError("webhook_headers_invalid", `the ${name} header is missing`);
    out[name] = value;
  }
  return out;
}

export interface MailstateWebhooks {
  /**
   * Verify a message with the endpoint's secret (`whsec_…`) and answer it parsed. Pass the raw
   * body exactly as received (not re-serialized JSON). Throws MailstateError: code
   * `webhook_headers_invalid` (a header missing) or `webhook_signature_invalid` (wrong secret, a
   * tampered body, or a timestamp more than 5 minutes from now). Deduplicate on `webhook-id`:
   * retries and replays carry the same id.
   */
  verify(payload: string | Uint8Array, headers: WebhookHeaders, secret: string): WebhookMessage;
}

export const webhooks: MailstateWebhooks = {
  verify(payload, headers, secret) {
    const body = typeof payload === "string" ? payload : new TextDecoder().decode(payload);
    const record = headerRecord(headers);
    try {
      new Webhook(secret).verify(body, record);
    } catch (error) {
      throw new MailstateError(
        "webhook_signature_invalid",
        `the message does not verify: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    return JSON.parse(body) as WebhookMessage;
  },
};
