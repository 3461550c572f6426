// What `createResendStandin` takes (env.ts reads the same from the environment).
import type { WebhookOptions } from "./webhooks.ts";

export interface StandinOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** When set, only this bearer key is accepted (403 otherwise); any key is accepted by default. */
  apiKey?: string;
  /** When set, every accepted email's events are posted to `webhook.url`, signed with `webhook.secret`. */
  webhook?: WebhookOptions;
  /** The id of the webhook endpoint whose delivery log GET /webhooks/:id/events serves. Default `wh_standin`. */
  webhookId?: string;
  /**
   * Post `suppression.added` when an address lands on the account's list (a hard bounce, a
   * complaint, POST /suppressions) and `suppression.removed` when it leaves it, as Resend does for
   * endpoints subscribed to them. Default false.
   */
  suppressionEvents?: boolean;
}
