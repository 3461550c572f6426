// erased_emails: the Resend email ids of erased notifications (tombstones). The worker drops a
// webhook of one of them instead of logging it again; retention removes tombstones past RETENTION_DAYS (retention-pass.ts).
import { execute, type Runner, type SqlRunner } from "../sql.ts";

export interface Tombstone {
  emailId: string;
  /** The erased notification's tenant (null: none): the list a late bounce or complaint suppresses on. */
  tenant: string | null;
}

export const erasedEmails = {
  /** Tombstone these email ids; one already there keeps its first time. Answers how many are new. */
  record(runner: Runner, tombstones: Tombstone[]): Promise<number> {
    if (tombstones.length === 0) return Promise.resolve(0);
    return execute(
      runner,
      `INSERT INTO erased_emails (email_id, tenant)
       SELECT email_id, tenant FROM jsonb_to_recordset($1::jsonb) AS t(email_id text, tenant text)
       ON CONFLICT (email_id) DO NOTHING`,
      [JSON.stringify(tombstones.map(({ emailId, tenant }) => ({ email_id: emailId, tenant })))],
    );
  },

  /** The tombstones among these email ids (one indexed lookup: the worker asks once per batch). */
  async among(runner: SqlRunner, emailIds: string[]): Promise<Map<string, string | null>> {
    if (emailIds.length === 0) return new Map();
    const { rows } = await runner.query<{ email_id: string; tenant: string | null }>(
      "SELECT email_id, tenant FROM erased_emails WHERE email_id = ANY($1::text[])",
      [emailIds],
    );
    return new Map(rows.map((row) => [row.email_id, row.tenant]));
  },
};
