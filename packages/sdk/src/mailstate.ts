// What a mailstate client offers, whether it talks to the API (createMailstate) or does nothing
// (createNoopMailstate), and what its send path takes and answers. Shared by client.ts and send.ts,
// so that neither imports the other's types.
import type { MailstateError } from "./errors.ts";
import type { GuardRefusal } from "./guard.ts";
import type { EmailLike, ResendBatchLike, ResendErrorLike, ResendLike } from "./resend-like.ts";
import type {
  AttachResult,
  CancelResult,
  ListQuery,
  Notification,
  NotificationPage,
  RecordInput,
  RecordResult,
  Reputation,
  ReputationQuery,
  SendOutcome,
  SendOutcomeResult,
  Suppression,
  SuppressionChange,
  SuppressionReason,
  SuppressionStatus,
  TenantOption,
  Timeline,
} from "./types.ts";
import type { MailstateWebhooks } from "./webhooks.ts";

export interface Mailstate {
  /** False for the no-op client: nothing is recorded or checked, sends still go to Resend. */
  readonly enabled: boolean;
  record(input: RecordInput): Promise<RecordResult>;
  /** Up to 100 at once. */
  recordBatch(inputs: RecordInput[]): Promise<RecordResult[]>;
  /** Attach Resend's email id to a recorded notification, after the send. */
  attach(notificationId: string, resendEmailId: string): Promise<AttachResult>;
  /**
   * After sends: attach each Resend id, or record Resend's refusal (an id attached later clears it).
   * 100 per request; one result per item, and a conflict or unknown id is a result, not a throw.
   */
  reportSendOutcomes(outcomes: SendOutcome[]): Promise<SendOutcomeResult[]>;
  /** null when no notification has this id (and always on the no-op client). */
  get(notificationId: string): Promise<Notification | null>;
  list(query?: ListQuery): Promise<NotificationPage>;
  timeline(notificationId: string): Promise<Timeline | null>;
  /**
   * Cancel a scheduled send (`scheduledAt`) at Resend. Throws MailstateError: 404 for an unknown id
   * (or another tenant's), 409 when it is not scheduled any more (sent, or never scheduled).
   */
  cancel(notificationId: string): Promise<CancelResult>;
  /** Suppressions follow the API's SUPPRESSION_SCOPE and the key's tenant; an admin key may name one. */
  isSuppressed(email: string, options?: TenantOption): Promise<boolean>;
  /** The suppression, with who added and removed the address by hand (`history`). */
  getSuppression(
    email: string,
    options?: TenantOption,
  ): Promise<(Suppression & { history: SuppressionChange[] }) | null>;
  /** The status of each distinct address, in the order given. */
  checkSuppressions(emails: string[], options?: TenantOption): Promise<SuppressionStatus[]>;
  suppress(email: string, note?: string, options?: TenantOption): Promise<Suppression | null>;
  /** True when the address was suppressed and no longer is. */
  unsuppress(email: string, options?: TenantOption): Promise<boolean>;
  /** Bounce and complaint rates of the notifications recorded in a window (the no-op client: zeros). */
  reputation(query?: ReputationQuery): Promise<Reputation>;
  /** Check suppressions, record, send through Resend, attach Resend's id. Never throws for mailstate's sake. */
  send<E extends EmailLike>(resend: ResendLike<E>, email: E, options?: SendOptions): Promise<SendResult>;
  /** The same for many emails, through Resend's batch endpoint, 100 per call. One result per email, in order. */
  sendBatch<E extends EmailLike>(resend: ResendBatchLike<E>, emails: E[], options?: SendOptions): Promise<SendResult[]>;
  /** Receiving mailstate's outbound webhooks: `webhooks.verify(rawBody, headers, secret)`. Local, no API call. */
  readonly webhooks: MailstateWebhooks;
}

export interface SendOptions {
  /**
   * Send even to suppressed recipients (password reset, verification); recorded as suppressionBypassed.
   * It also passes the reputation guard: a send that must go out goes out.
   */
  bypassSuppression?: boolean;
  /** Shared by the record and Resend's send, so a retried call neither records nor sends twice. Generated when absent. */
  idempotencyKey?: string;
  tenant?: string;
  category?: string;
  /** Added to the email's own Resend tags on the notification. */
  tags?: Record<string, string>;
  metadata?: Record<string, unknown>;
  /**
   * When mailstate cannot be reached before the send: false (default) sends anyway, unchecked and
   * unrecorded, and reports it in `warnings`; true refuses to send (`status: "failed"`).
   */
  strict?: boolean;
}

export interface SuppressedRecipient {
  email: string;
  reason: SuppressionReason;
}

export type SendResult =
  | {
      status: "sent";
      /** null when nothing was recorded (no-op client, or mailstate unreachable). */
      notificationId: string | null;
      resendEmailId: string;
      /** mailstate errors that did not stop the send. */
      warnings: MailstateError[];
    }
  | { status: "suppressed"; notificationId: null; suppressed: SuppressedRecipient[] }
  | {
      status: "failed";
      source: "resend";
      /** The notification, which carries the refusal as `sendError`. */
      notificationId: string | null;
      error: ResendErrorLike;
      /** mailstate errors met while recording the refusal. */
      warnings: MailstateError[];
    }
  | { status: "failed"; source: "mailstate"; notificationId: null; error: MailstateError }
  /** The reputation guard (createMailstate's `guard`) refused it: nothing recorded, nothing sent. */
  | GuardRefusal;
