// A notification's timeline, built once for every reader: /v1 serializes it to JSON, the support
// pages render it as HTML. Its applied events, folded in event time, each with the state after it:
// every delivery event, and one page of its opens and clicks (a notification may have thousands).
import {
  type Db,
  engagement,
  engagementPayload,
  events,
  type Notification,
  restorePayload,
  type Suppression,
  suppressions,
} from "@mailstate/db";
import {
  eventSourceOf,
  eventTraceIdOf,
  parseResendEvent,
  type ResendEvent,
  recipientsOf,
  safeParseResendEvent,
} from "@mailstate/resend-events";
import type { SuppressionScope } from "@mailstate/runtime";
import { type DeliveryState, type EventClass, normalizeEmail, timeline } from "@mailstate/state-machine";

interface EngagementDetail {
  link: string | null;
  userAgent: string | null;
  ipAddress: string | null;
}

export interface TimelineItem {
  svixId: string;
  type: string;
  event: ResendEvent;
  /** The event's own time (its top-level created_at). */
  occurredAt: Date;
  /** When the API received and verified it (logged by the worker from then on). */
  receivedAt: Date;
  /** Set when it arrived before any notification carried its email id: when it was parked, then applied. */
  replayedAt: Date | null;
  kind: EventClass;
  stateBefore: DeliveryState;
  stateAfter: DeliveryState;
  moved: boolean;
  recipients: string[];
  /** For opens and clicks (the link for clicks). */
  engagement: EngagementDetail | null;
  /** What Resend said about the outcome: `bounce`, `failed`, `suppressed`, `complaint`. */
  detail: Record<string, unknown> | null;
  /** `webhook`, or `api`: learned by the sweeper from Resend's API (emails.get). */
  source: "webhook" | "api";
  /** The trace of the request that brought it, when tracing was on and kept it. */
  traceId: string | null;
}

/** An event about this notification that the schema of its type rejected: kept raw, not folded. */
interface InvalidItem {
  svixId: string;
  type: string;
  occurredAt: Date;
  receivedAt: Date;
  /** What the schema said, field by field. */
  problem: string;
}

export interface NotificationTimeline {
  notification: Notification;
  /** The state after the last event, `recorded` when there is none. */
  state: DeliveryState;
  /** Every delivery event and this page of opens and clicks, in event time. */
  items: TimelineItem[];
  /** Opens and clicks in all (the notification's counters), of which `items` holds one page. */
  engagementTotal: number;
  /** Where the next page of opens and clicks starts; null on the last page. */
  nextEngagementCursor: string | null;
  /** The active suppressions among the notification's recipients that apply to its tenant. */
  suppressions: Suppression[];
  /** Events logged as invalid (`mailstate reprocess --status invalid` applies them once they parse). */
  invalid: InvalidItem[];
}

export const DEFAULT_ENGAGEMENT_PAGE = 100;
export const MAX_ENGAGEMENT_PAGE = 1_000;

/** Where a page of opens and clicks ends: the last one's log time and svix-id. */
export interface EngagementCursor {
  occurredAt: Date;
  svixId: string;
}

/** Opaque to clients: base64url of JSON, so a svix-id may hold any character. */
function encodeEngagementCursor({ occurredAt, svixId }: EngagementCursor): string {
  return Buffer.from(JSON.stringify([occurredAt.toISOString(), svixId])).toString("base64url");
}

export function decodeEngagementCursor(cursor: string): EngagementCursor | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (!Array.isArray(value) || value.length !== 2) return null;
    const [at, svixId] = value;
    if (typeof at !== "string" || typeof svixId !== "string" || svixId === "") return null;
    const occurredAt = new Date(at);
    return Number.isNaN(occurredAt.getTime()) || occurredAt.toISOString() !== at ? null : { occurredAt, svixId };
  } catch {
    return null;
  }
}

export interface EngagementPage {
  /** Opens and clicks per page, 1 to MAX_ENGAGEMENT_PAGE. */
  limit: number;
  /** The previous page's nextEngagementCursor; absent for the first page. */
  after?: EngagementCursor;
}

/**
 * Every delivery event of the notification and one page of its opens and clicks, folded together:
 * opens and clicks never move the state, so the state at each of them is the state after the
 * delivery events before it, whichever page it is on. Pages follow the log's (occurredAt to the
 * millisecond, svixId) order; within a page, items are in the fold's order (to the microsecond).
 */
export async function loadTimeline(
  db: Db,
  notification: Notification,
  { scope, page = { limit: DEFAULT_ENGAGEMENT_PAGE } }: { scope: SuppressionScope; page?: EngagementPage },
): Promise<NotificationTimeline> {
  const [delivery, engagementPage, suppressed, invalidRows] = await Promise.all([
    events.listDeliveryForNotification(db, notification),
    engagement.listPage(db, notification.id, { after: page.after, limit: page.limit + 1 }),
    suppressions.findMany(db, notification.recipients, { scope, tenant: notification.tenant }),
    events.listInvalidFor(db, { notificationId: notification.id, emailId: notification.resendEmailId }),
  ]);
  const engagementLogged = engagementPage.slice(0, page.limit);
  const last = engagementLogged.at(-1);
  const nextEngagementCursor =
    engagementPage.length > page.limit && last
      ? encodeEngagementCursor({ occurredAt: last.occurredAt, svixId: last.svixId })
      : null;
  const about = {
    // A notification with events carries its email id; its own id stands in should it not.
    emailId: notification.resendEmailId ?? notification.id,
    from: notification.from,
    recipients: notification.recipients,
    subject: notification.subject,
    messageId: notification.messageId,
  };
  // Applied rows passed this parse in the worker; the fold re-orders them by their own time.
  const logged = [
    ...delivery.map((row) => ({
      svixId: row.svixId,
      receivedAt: row.receivedAt,
      replayedAt: row.adoptedAt,
      payload: restorePayload(row, about),
      engagement: null,
    })),
    ...engagementLogged.map((row) => ({
      svixId: row.svixId,
      // Opens and clicks keep no time of receipt: their own time stands for it.
      receivedAt: row.occurredAt,
      replayedAt: null,
      payload: engagementPayload(row, about),
      engagement: { link: row.link, userAgent: row.userAgent, ipAddress: row.ipAddress },
    })),
  ];
  const logRows = new Map(logged.map((row) => [row.svixId, row]));
  const entries = timeline(logged.map((row) => ({ svixId: row.svixId, event: parseResendEvent(row.payload) })));
  const items = entries.map(
    (entry): TimelineItem => ({
      svixId: entry.svixId,
      type: entry.event.type,
      event: entry.event,
      occurredAt: entry.occurredAt,
      receivedAt: logRows.get(entry.svixId)?.receivedAt ?? entry.occurredAt,
      replayedAt: logRows.get(entry.svixId)?.replayedAt ?? null,
      kind: entry.kind,
      stateBefore: entry.stateBefore,
      stateAfter: entry.stateAfter,
      moved: entry.moved,
      recipients: [...new Set(recipientsOf(entry.event).map(normalizeEmail))],
      engagement: entry.kind === "engagement" ? (logRows.get(entry.svixId)?.engagement ?? null) : null,
      detail: detailOf(entry.event),
      source: eventSourceOf(entry.event),
      traceId: eventTraceIdOf(entry.event),
    }),
  );
  const invalid = invalidRows.map(
    (row): InvalidItem => ({
      svixId: row.svixId,
      type: row.type,
      occurredAt: row.occurredAt,
      receivedAt: row.receivedAt,
      problem: schemaProblem(row.payload),
    }),
  );
  return {
    notification,
    state: items.at(-1)?.stateAfter ?? "recorded",
    items,
    engagementTotal: notification.openCount + notification.clickCount,
    nextEngagementCursor,
    suppressions: suppressed,
    invalid,
  };
}

/** Why the schema rejects a logged payload, as the worker logged it (it may parse now, after an upgrade). */
function schemaProblem(payload: unknown): string {
  const parsed = safeParseResendEvent(payload);
  if (parsed.success) return "parses now: `mailstate reprocess --status invalid` applies it";
  return parsed.error.issues.map((issue) => `${issue.path.join(".") || "(event)"}: ${issue.message}`).join("; ");
}

const DETAIL_FIELDS = ["bounce", "failed", "suppressed", "complaint"] as const;

/** What Resend said about the outcome (bounce type and message, failure reason, …), when it said anything. */
function detailOf(event: ResendEvent): Record<string, unknown> | null {
  const data = event.data;
  if (typeof data !== "object" || data === null) return null;
  const picked = Object.fromEntries(
    DETAIL_FIELDS.flatMap((field) => (field in data ? [[field, (data as Record<string, unknown>)[field]]] : [])),
  );
  return Object.keys(picked).length > 0 ? picked : null;
}
