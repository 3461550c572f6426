// The shapes the mailstate API answers with, declared here so the SDK depends on nothing of the server.

/** A notification's delivery states. A copy of the server's list (the SDK depends on nothing of mailstate); a test checks they agree. */
export const DELIVERY_STATES = [
  "recorded",
  "scheduled",
  "sent",
  "delivery_delayed",
  "delivered",
  "bounced",
  "complained",
  "failed",
  "canceled",
  "suppressed",
] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

/** Why an address is suppressed. A copy of the server's list (the SDK depends on nothing of mailstate); a test checks they agree. */
export const SUPPRESSION_REASONS = ["hard_bounce", "soft_bounce_threshold", "complaint", "manual"] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];

export interface Notification {
  id: string;
  resendEmailId: string | null;
  /** Normalized (trimmed, lowercased) recipients. */
  to: string[];
  from: string;
  subject: string;
  tenant: string | null;
  tags: Record<string, string>;
  category: string | null;
  metadata: Record<string, unknown> | null;
  idempotencyKey: string | null;
  suppressionBypassed: boolean;
  /** Resend refused the send (reported by `send`/`sendBatch`); null once an email id is attached. */
  sendError: SendError | null;
  state: DeliveryState;
  stateChangedAt: string | null;
  stateEventType: string | null;
  openCount: number;
  clickCount: number;
  firstOpenedAt: string | null;
  firstClickedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

/** Resend's refusal of a send, as reported to mailstate. */
export interface SendError {
  name: string;
  message: string;
  statusCode: number | null;
  /** When it was reported. */
  at: string;
}

/** What came of one send: Resend's email id, or Resend's error (exactly one of the two). */
export type SendOutcome =
  | { notificationId: string; resendEmailId: string }
  | { notificationId: string; sendError: { name: string; message: string; statusCode?: number | null } };

export interface RecordInput {
  to: string | string[];
  from: string;
  subject: string;
  tenant?: string;
  tags?: Record<string, string>;
  category?: string;
  metadata?: Record<string, unknown>;
  /** Recording twice with one key answers the first notification. */
  idempotencyKey?: string;
  /** Resend's email id, when the send already happened. */
  resendEmailId?: string;
  /** The send went out despite a suppressed recipient, on purpose. */
  suppressionBypassed?: boolean;
}

/** `disabled`: the no-op client (mailstate not configured) recorded nothing. */
export type RecordResult =
  | { status: "created" | "existing"; notification: Notification }
  | { status: "disabled"; notification: null };

export type AttachResult =
  | { status: "attached"; notification: Notification }
  | { status: "disabled"; notification: null };

/** One item of `reportSendOutcomes`, in the order given. */
export type SendOutcomeResult =
  | { id: string; status: "attached" | "refusal_recorded"; notification: Notification }
  | { id: string; status: "conflict" | "not_found"; notification: null; detail: string }
  | { status: "disabled"; notification: null };

/**
 * `cancel`: Resend cancelled the scheduled send (or had already); the notification's state becomes
 * `canceled` once mailstate's worker applies it. The no-op client cancels nothing (`disabled`).
 */
export type CancelResult =
  | { status: "canceled"; id: string; resendEmailId: string }
  | { status: "disabled"; id: string; resendEmailId: null };

export interface NotificationPage {
  data: Notification[];
  nextCursor: string | null;
}

export interface ListQuery {
  email?: string;
  resendEmailId?: string;
  state?: DeliveryState;
  tenant?: string;
  cursor?: string;
  limit?: number;
}

export interface TimelineEntry {
  svixId: string;
  type: string;
  /** The event's own time. */
  occurredAt: string;
  /** When mailstate logged it. */
  receivedAt: string;
  /** When an event that arrived before its notification carried the email id was applied; else null. */
  replayedAt: string | null;
  kind: "delivery" | "engagement" | "suppression_source" | "other";
  stateBefore: DeliveryState;
  stateAfter: DeliveryState;
  moved: boolean;
  recipients: string[];
  engagement: { link: string | null; userAgent: string | null; ipAddress: string | null } | null;
  detail: Record<string, unknown> | null;
  /** `webhook`, or `api`: learned by mailstate's sweeper from Resend's API (emails.get). */
  source?: "webhook" | "api";
}

export interface SuppressionStatus {
  email: string;
  suppressed: boolean;
  reason: SuppressionReason | null;
  since: string | null;
  /** Resend's own suppression list holds it (RESEND_SUPPRESSION_SYNC): Resend refuses it even when bypassed. */
  onResendList?: boolean;
}

export interface Timeline {
  notification: Notification;
  state: DeliveryState;
  events: TimelineEntry[];
  recipients: SuppressionStatus[];
}

export interface Suppression {
  email: string;
  /** The list it is on: a tenant's (SUPPRESSION_SCOPE=tenant), or null, the list every tenant obeys. */
  tenant: string | null;
  reason: SuppressionReason;
  since: string;
  expiresAt: string | null;
  sourceEventId: string | null;
  note: string | null;
  /** Who decided it: mailstate, or Resend's own list. */
  source?: "mailstate" | "resend";
  /** Resend's own suppression list holds the address. */
  onResendList?: boolean;
}

/** A manual addition or removal of a suppression, from the audit log. */
export interface SuppressionChange {
  action: "added" | "removed";
  at: string;
  tenant: string | null;
  by: { keyId: string | null; label: string };
  note: string | null;
}

/** For an admin key: the tenant to act for. A tenant's key always acts for its own. */
export interface TenantOption {
  tenant?: string;
}

// Reputation (GET /v1/reputation).

export type ReputationWindow = "24h" | "7d" | "30d";

export interface ReputationQuery {
  /** Admin keys: one tenant (default every tenant's). A tenant's key reads its own. */
  tenant?: string;
  category?: string;
  fromDomain?: string;
  /** Default 24h. */
  window?: ReputationWindow;
}

export interface ReputationCounts {
  sent: number;
  delivered: number;
  /** hardBounced + softBounced. */
  bounced: number;
  hardBounced: number;
  softBounced: number;
  complained: number;
  /** bounced / sent; null when nothing was sent. */
  bounceRate: number | null;
  /** complained / delivered; null when nothing was delivered. */
  complaintRate: number | null;
}

export interface Reputation extends ReputationCounts {
  window: ReputationWindow;
  tenant: string | null;
  category: string | null;
  fromDomain: string | null;
  /** Start of the first point. */
  since: string;
  /** Hourly (24h) or daily (7d, 30d) points, oldest first. */
  series: (ReputationCounts & { at: string })[];
}
