export { createMailstate, createNoopMailstate, type MailstateOptions } from "./client.ts";
export { type FieldError, MailstateError, type MailstateErrorCode } from "./errors.ts";
export {
  GUARD_CACHE_MS,
  type GuardOptions,
  type GuardRefusal,
  type RefusalReason,
} from "./guard.ts";
export { LIMITS } from "./limits.ts";
export type { Mailstate, SendOptions, SendResult, SuppressedRecipient } from "./mailstate.ts";
export type { EmailLike, ResendBatchLike, ResendErrorLike, ResendLike } from "./resend-like.ts";
export { NOTIFICATION_TAG, normalizeAddress } from "./send.ts";
export type {
  AttachResult,
  CancelResult,
  DeliveryState,
  ListQuery,
  Notification,
  NotificationPage,
  RecordInput,
  RecordResult,
  Reputation,
  ReputationCounts,
  ReputationQuery,
  ReputationWindow,
  SendError,
  SendOutcome,
  SendOutcomeResult,
  Suppression,
  SuppressionChange,
  SuppressionReason,
  SuppressionStatus,
  TenantOption,
  Timeline,
  TimelineEntry,
} from "./types.ts";
export { DELIVERY_STATES, SUPPRESSION_REASONS } from "./types.ts";
export {
  type MailstateWebhooks,
  type NotificationStateChanged,
  type SuppressionChanged,
  type WebhookEventType,
  type WebhookHeaders,
  type WebhookMessage,
  webhooks,
} from "./webhooks.ts";
