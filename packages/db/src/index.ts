// @mailstate/db: the only package that talks to PostgreSQL. One module per table (src/tables) owns
// that table's reads and writes; notifications, which four callers use with four kinds of client,
// has one module per caller (src/tables/notifications). The Prisma client serves the API's reads
// and the CLI, and pg pools serve the worker, whose batched statements are the only writers of the
// tables it owns, and the API's record path.
export type {
  ApiKey,
  DeliveryEvent,
  EngagementEvent,
  EngagementKind,
  EventStatus,
  Notification,
  OutboundStatus,
  Suppression,
} from "../generated/client/index.js";
// The delivery states and suppression reasons as the database's enums spell them (a test checks
// they are the machine's).
export { DeliveryState, Prisma, SuppressionReason } from "../generated/client/index.js";
export { createDb, type Db, type DbClient, type DbOptions, pingDb } from "./client.ts";
export {
  addressForms,
  type ErasedRows,
  type ErasedTargets,
  type ErasureReport,
  type ErasureScope,
  erasedAddressLabel,
  eraseRecipient,
} from "./erasure.ts";
export { isDatabaseUnavailable, permanentDataErrorCode } from "./errors.ts";
export { ops } from "./ops.ts";
export {
  createDayPartition,
  defaultPartitionRows,
  type EnsureReport,
  ensurePartitions,
  listPartitions,
  oldestDayKept,
  partitionName,
} from "./partitions.ts";
export { type ScrubReport, scrubEngagementPii } from "./retention.ts";
export {
  type RetentionCounts,
  type RetentionReport,
  rebuildHorizon,
  retentionCutoff,
  runRetention,
} from "./retention-pass.ts";
export {
  type BatchWrite,
  createSqlPool,
  type Runner,
  type SqlClient,
  type SqlPool,
  type SqlRunner,
  withSqlTransaction,
  writeTogether,
} from "./sql.ts";
export { type ApiKeyRow, apiKeys, hashApiKey, newApiKey } from "./tables/api-keys.ts";
export {
  type Actor,
  AUDIT_ACTIONS,
  type AuditAction,
  type AuditEntry,
  auditLog,
  type NewAuditEntry,
} from "./tables/audit-log.ts";
export {
  DEAD_LETTER_CAUSES,
  type DeadLetterCause,
  type DeadLetterRow,
  deadLetters,
  type NewDeadLetter,
} from "./tables/dead-letters.ts";
export {
  type AppliedRef,
  type EventRow,
  events,
  type PayloadContext,
  restorePayload,
  type StoredEvent,
} from "./tables/delivery-events.ts";
export {
  type EngagementRow,
  engagement,
  engagementPayload,
  type LoggedEngagement,
} from "./tables/engagement-events.ts";
export { erasedEmails, type Tombstone } from "./tables/erased-emails.ts";
export { type ImportCheckpoint, type ImportedEmail, imports, type KnownEmail } from "./tables/imports.ts";
export { type LockedNotification, notificationMatching } from "./tables/notifications/matching.ts";
export {
  type EngagementCounters,
  notificationProjections,
  type Projection,
} from "./tables/notifications/projection.ts";
export { messageIdKey, type NotificationFilter, notificationReads } from "./tables/notifications/reads.ts";
export { type NewNotification, notificationRecords, type RecordResult } from "./tables/notifications/record.ts";
export {
  type SendError,
  type SendOutcome,
  type SendOutcomeResult,
  type StoredSendError,
  storedSendError,
} from "./tables/notifications/send-outcomes.ts";
export { notificationSweep, type ResendCheck, type SweepCandidate } from "./tables/notifications/sweep.ts";
export {
  type DeliveryRow,
  type EndpointRow,
  newEndpointSecret,
  OUTBOUND_EVENT_TYPES,
  type OutboundEventType,
  type OutgoingMessage,
  outbox,
  SECRET_OVERLAP_MS,
  type SuppressionChange,
  webhookEndpoints,
} from "./tables/outbound.ts";
export {
  type Bucket,
  fromDomainSql,
  type ReputationFilter,
  type ReputationPoint,
  type RollupChange,
  type RollupCounts,
  type RollupRow,
  reputation,
} from "./tables/reputation.ts";
export { type SoftBounceReset, softBounces } from "./tables/soft-bounce-counters.ts";
export {
  applyingTo,
  GLOBAL_VIEW,
  type ListFilter,
  listOf,
  type NewSuppression,
  onResendList,
  type SuppressionSource,
  type SuppressionView,
  suppressions,
} from "./tables/suppressions.ts";
