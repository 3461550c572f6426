// What the API's record path (record.ts, send-outcomes.ts) shares in SQL: a notification row as its
// statements return it, and the SQLSTATE a failed statement carries.

/** Every column of a notification, named as the Notification type (Prisma's) names it. */
export const NOTIFICATION_COLUMNS = `id, resend_email_id AS "resendEmailId", recipients, "from", subject, tenant, tags, category,
  metadata, idempotency_key AS "idempotencyKey", suppression_bypassed AS "suppressionBypassed", send_error AS "sendError",
  state::text AS state, state_changed_at AS "stateChangedAt", state_event_type AS "stateEventType",
  state_event_id AS "stateEventId", open_count AS "openCount", click_count AS "clickCount",
  first_opened_at AS "firstOpenedAt", first_clicked_at AS "firstClickedAt", created_at AS "createdAt",
  updated_at AS "updatedAt"`;

export const sqlState = (error: unknown) => (error as { code?: unknown } | null)?.code;
