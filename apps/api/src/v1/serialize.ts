// Database rows as the /v1 JSON the schemas describe.
import { type AuditEntry, type Notification, onResendList, type Suppression, storedSendError } from "@mailstate/db";
import type { AuditEntryJson, NotificationJson, SuppressionJson, SuppressionStatusJson } from "./schemas/responses.ts";

const iso = (date: Date | null) => (date ? date.toISOString() : null);

function stringRecord(value: unknown): Record<string, string> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return {};
  return Object.fromEntries(
    Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === "string"),
  );
}

function objectOrNull(value: unknown): Record<string, unknown> | null {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

export function notificationJson(row: Notification): NotificationJson {
  return {
    id: row.id,
    resendEmailId: row.resendEmailId,
    to: row.recipients,
    from: row.from,
    subject: row.subject,
    tenant: row.tenant,
    tags: stringRecord(row.tags),
    category: row.category,
    metadata: objectOrNull(row.metadata),
    idempotencyKey: row.idempotencyKey,
    suppressionBypassed: row.suppressionBypassed,
    sendError: storedSendError(row),
    state: row.state,
    stateChangedAt: iso(row.stateChangedAt),
    stateEventType: row.stateEventType,
    openCount: row.openCount,
    clickCount: row.clickCount,
    firstOpenedAt: iso(row.firstOpenedAt),
    firstClickedAt: iso(row.firstClickedAt),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    // Only once the sweeper asked (rows read by the record path do not carry it).
    ...resendCheckOf(row),
  };
}

/** What the sweeper learned from Resend's API, as stored on the notification (see @mailstate/db's ResendCheck). */
export function resendCheckOf(row: Notification): Pick<NotificationJson, "resendCheck"> {
  const check = objectOrNull(row.resendCheck);
  const outcome = check?.outcome;
  if (!check || (outcome !== "healed" && outcome !== "current" && outcome !== "not_found")) return {};
  return {
    resendCheck: {
      at: String(check.at),
      outcome,
      lastEvent: typeof check.lastEvent === "string" ? check.lastEvent : null,
      ...(typeof check.appended === "string" ? { appended: check.appended } : {}),
    },
  };
}

export function suppressionJson(row: Suppression): SuppressionJson {
  const note = objectOrNull(row.metadata)?.note;
  return {
    email: row.email,
    tenant: row.tenant,
    reason: row.reason,
    since: row.createdAt.toISOString(),
    expiresAt: iso(row.expiresAt),
    sourceEventId: row.sourceEventId,
    note: typeof note === "string" ? note : null,
    source: row.source === "resend" ? "resend" : "mailstate",
    onResendList: onResendList(row),
  };
}

/** The status of each address, in the order given, from the active suppressions among them. */
export function suppressionStatuses(emails: readonly string[], rows: readonly Suppression[]): SuppressionStatusJson[] {
  const byEmail = new Map(rows.map((row) => [row.email, row]));
  return [...new Set(emails)].map((email) => {
    const row = byEmail.get(email);
    return {
      email,
      suppressed: row !== undefined,
      reason: row?.reason ?? null,
      since: row ? row.createdAt.toISOString() : null,
      // Only when true: what a client that knows nothing of Resend's list reads stays as it was.
      ...(row && onResendList(row) ? { onResendList: true } : {}),
    };
  });
}

/** A manual change of a suppression, from the audit log. */
export function auditEntryJson(entry: AuditEntry): AuditEntryJson {
  const note = objectOrNull(entry.detail)?.note;
  return {
    action: entry.action === "suppression.removed" ? "removed" : "added",
    at: entry.at.toISOString(),
    tenant: entry.tenant,
    by: { keyId: entry.actorKeyId, label: entry.actor },
    note: typeof note === "string" ? note : null,
  };
}
