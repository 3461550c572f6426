export type {
  DeliveryEvent,
  DeliveryState,
  EngagementEvent,
  EngagementKind,
  EventStatus,
  Notification,
  Suppression,
  SuppressionReason,
} from "../generated/client/index.js";
export { Prisma } from "../generated/client/index.js";
export { createDb, type Db, type DbClient, type DbOptions, pingDb } from "./client.ts";
export {
  DEAD_LETTER_CAUSES,
  type DeadLetterCause,
  type DeadLetterRow,
  deadLetters,
  type NewDeadLetter,
} from "./dead-letters.ts";
export { engagement, type NewEngagement } from "./engagement.ts";
export { isDatabaseUnavailable, permanentDataErrorCode } from "./errors.ts";
export { ENGAGEMENT_TYPES, events, type NewEvent } from "./events.ts";
export {
  type NewNotification,
  type NotificationFilter,
  notifications,
  type Projection,
  type SendError,
  type SendOutcome,
  type StoredSendError,
  storedSendError,
} from "./notifications.ts";
export { ops } from "./ops.ts";
export {
  createSqlPool,
  type EngagementCounters,
  type EngagementRow,
  type EventRow,
  reconcileStore,
  type SoftBounceReset,
  type SqlClient,
  type SqlPool,
  type StoredEvent,
  withSqlTransaction,
} from "./reconcile-store.ts";
export { type ScrubReport, scrubEngagementPii } from "./retention.ts";
export { support } from "./support.ts";
export { type NewSuppression, softBounces, suppressions } from "./suppressions.ts";
