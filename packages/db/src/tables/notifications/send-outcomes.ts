// What came of a recorded send, as the API reports it after the send (the SDK's PATCH): Resend's
// email id, attached once, or its refusal. The worker attaches an id its tagged events reveal under
// the same guard (matching.ts, attachEmailIds): whichever comes first sets it.
import type { Notification } from "../../../generated/client/index.js";
import { jsonForPostgres, type SqlRunner } from "../../sql.ts";
import { NOTIFICATION_COLUMNS, sqlState } from "./record-sql.ts";

/** Resend refused the send: its error, as Resend gave it. */
export interface SendError {
  name: string;
  message: string;
  statusCode?: number | null;
}
type SendRefusal = { id: string; sendError: SendError };
/** A refusal as stored on the notification: Resend's error and when it was reported. */
export type StoredSendError = Required<SendError> & { at: string };

/** The outcome of one send: Resend's email id, or its refusal. */
export type SendOutcome = { id: string; resendEmailId: string } | SendRefusal;

/**
 * What became of one reported send outcome: it is on the notification (`applied`, also when the
 * same id was attached already), no notification has the id, or it contradicts what is stored
 * (another Resend id, or an id another notification carries).
 */
export type SendOutcomeResult =
  | { kind: "applied"; notification: Notification }
  | { kind: "not_found" }
  | { kind: "conflict" };

const NOT_FOUND = { kind: "not_found" } as const;
const CONFLICT = { kind: "conflict" } as const;
const applied = (notification: Notification) => ({ kind: "applied", notification }) as const;

/** PostgreSQL's unique_violation: another notification carries the Resend id. */
const UNIQUE_VIOLATION = "23505";

/** The `sendError` column read back (null when the send was not refused). */
export function storedSendError(row: Pick<Notification, "sendError">): StoredSendError | null {
  const value = row.sendError;
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const text = (key: string) => (typeof value[key] === "string" ? (value[key] as string) : "");
  return {
    name: text("name"),
    message: text("message"),
    statusCode: typeof value.statusCode === "number" ? value.statusCode : null,
    at: text("at"),
  };
}

async function findOne(sql: SqlRunner, id: string): Promise<Notification | undefined> {
  const { rows } = await sql.query<Notification>(
    `SELECT ${NOTIFICATION_COLUMNS} FROM notifications WHERE id = $1::uuid`,
    [id],
  );
  return rows[0];
}

/**
 * What came of each send, one result per item in order. Resend's id is set once: the same pair
 * again is the notification as it is; another id, or an id another notification carries, is a
 * conflict. Attaching it clears a refusal reported before (a retried send went out). A refusal
 * is recorded only while no id is attached: once an email is out, a late report of an earlier
 * failed attempt is a conflict. One read for the lot, then one guarded update per change.
 */
export async function applySendOutcomes(sql: SqlRunner, items: SendOutcome[]): Promise<SendOutcomeResult[]> {
  const { rows } = await sql.query<Notification>({
    name: "notifications-by-ids",
    text: `SELECT ${NOTIFICATION_COLUMNS} FROM notifications WHERE id = ANY($1::uuid[])`,
    values: [[...new Set(items.map((item) => item.id))]],
  });
  const current = new Map(rows.map((row) => [row.id, row]));
  const results: SendOutcomeResult[] = [];
  for (const item of items) {
    const row = current.get(item.id);
    if (!row) {
      results.push(NOT_FOUND);
      continue;
    }
    const resendEmailId = "resendEmailId" in item ? item.resendEmailId : null;
    if (row.resendEmailId !== null) {
      results.push(row.resendEmailId === resendEmailId ? applied(row) : CONFLICT);
      continue;
    }
    const sendError =
      resendEmailId === null
        ? jsonForPostgres({ ...(item as SendRefusal).sendError, at: new Date().toISOString() })
        : null;
    try {
      // Guarded on no id yet: two concurrent attaches cannot overwrite each other. An attach
      // clears a refusal reported before; a refusal leaves the (absent) id as it is.
      const {
        rows: [updated],
      } = await sql.query<Notification>({
        name: "notifications-apply-send-outcome",
        text: `UPDATE notifications SET resend_email_id = COALESCE($2, resend_email_id), send_error = $3::jsonb,
                      updated_at = now()
                WHERE id = $1::uuid AND resend_email_id IS NULL
               RETURNING ${NOTIFICATION_COLUMNS}`,
        values: [item.id, resendEmailId, sendError],
      });
      if (updated) {
        current.set(item.id, updated);
        results.push(applied(updated));
        continue;
      }
    } catch (error) {
      if (sqlState(error) !== UNIQUE_VIOLATION) throw error;
      results.push(CONFLICT); // another notification carries the id
      continue;
    }
    // A concurrent attach set an id first: the same one (a retried request) is this success.
    const now = await findOne(sql, item.id);
    if (now) current.set(item.id, now);
    results.push(now && resendEmailId !== null && now.resendEmailId === resendEmailId ? applied(now) : CONFLICT);
  }
  return results;
}
