// What `mailstate import` reads and writes: the notifications it creates from Resend's email list
// (emails sent before mailstate was adopted) and the checkpoint an interrupted run resumes from.
import type { DeliveryState } from "../../generated/client/index.js";
import { execute, type SqlRunner } from "../sql.ts";

/** An email of Resend's list, as the import records it. */
export interface ImportedEmail {
  emailId: string;
  /** Normalized (trimmed, lowercased), as the API records them. */
  recipients: string[];
  from: string;
  subject: string;
  /** The email's creation time at Resend: the notification's created_at. */
  createdAt: Date;
  messageId: string | null;
}

/** A notification that already carries a listed email id. */
export interface KnownEmail {
  notificationId: string;
  state: DeliveryState;
  /** Set when an import created it: only those does a later run heal. */
  importedAt: Date | null;
}

/** Where an interrupted run stopped, and what it had counted. */
export interface ImportCheckpoint {
  /** The cutoff the run computed from --since (null: none). */
  since: Date | null;
  /** --since as the run was given it (`30d`, `2026-01-31`): a rerun given the same resumes, with `since`. */
  sinceOption: string | null;
  afterEmailId: string;
  listed: number;
  imported: number;
  known: number;
}

/** The checkpoint's key: the tenant imported for, '' for none. */
const scopeOf = (tenant: string | null) => tenant ?? "";

export const imports = {
  /** The notifications carrying these email ids, by email id. */
  async known(sql: SqlRunner, emailIds: string[]): Promise<Map<string, KnownEmail>> {
    if (emailIds.length === 0) return new Map();
    const { rows } = await sql.query<KnownEmail & { emailId: string }>(
      `SELECT resend_email_id AS "emailId", id::text AS "notificationId", state::text AS state,
              imported_at AS "importedAt"
         FROM notifications WHERE resend_email_id = ANY($1::text[])`,
      [emailIds],
    );
    return new Map(rows.map(({ emailId, ...known }) => [emailId, known]));
  },

  /**
   * Create a notification (state recorded, marked imported) for each email, in one statement; an
   * email id some notification carries by now (the app recorded it meanwhile) is left out.
   * Answers the notification id of each email id inserted.
   */
  async insert(sql: SqlRunner, emails: ImportedEmail[], tenant: string | null): Promise<Map<string, string>> {
    if (emails.length === 0) return new Map();
    const { rows } = await sql.query<{ emailId: string; id: string }>(
      `INSERT INTO notifications (resend_email_id, recipients, "from", subject, tenant, message_id, created_at,
                                  updated_at, imported_at)
       SELECT email_id, recipients, "from", subject, $2::text, message_id, created_at, now(), now()
         FROM jsonb_to_recordset($1::jsonb) AS x(email_id text, recipients text[], "from" text, subject text,
                                                 message_id text, created_at timestamptz)
       ON CONFLICT DO NOTHING
       RETURNING resend_email_id AS "emailId", id::text AS id`,
      [
        JSON.stringify(
          emails.map((email) => ({
            email_id: email.emailId,
            recipients: email.recipients,
            from: email.from,
            subject: email.subject,
            message_id: email.messageId,
            created_at: email.createdAt.toISOString(),
          })),
        ),
        tenant,
      ],
    );
    return new Map(rows.map((row) => [row.emailId, row.id]));
  },

  async checkpoint(sql: SqlRunner, tenant: string | null): Promise<ImportCheckpoint | null> {
    const { rows } = await sql.query<ImportCheckpoint>(
      `SELECT since, since_option AS "sinceOption", after_email_id AS "afterEmailId", listed, imported, known
         FROM resend_imports WHERE scope = $1`,
      [scopeOf(tenant)],
    );
    return rows[0] ?? null;
  },

  /** After a page is written: the next run starts after its last email. */
  async saveCheckpoint(sql: SqlRunner, tenant: string | null, checkpoint: ImportCheckpoint): Promise<void> {
    await execute(
      sql,
      `INSERT INTO resend_imports (scope, since, since_option, after_email_id, listed, imported, known)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (scope) DO UPDATE SET since = $2, since_option = $3, after_email_id = $4, listed = $5,
                                         imported = $6, known = $7, updated_at = now()`,
      [
        scopeOf(tenant),
        checkpoint.since,
        checkpoint.sinceOption,
        checkpoint.afterEmailId,
        checkpoint.listed,
        checkpoint.imported,
        checkpoint.known,
      ],
    );
  },

  /** The run reached the end of the list: the next one starts from the newest email again. */
  async clearCheckpoint(sql: SqlRunner, tenant: string | null): Promise<void> {
    await execute(sql, "DELETE FROM resend_imports WHERE scope = $1", [scopeOf(tenant)]);
  },
};
