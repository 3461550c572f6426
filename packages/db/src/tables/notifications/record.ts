// What the application records (the API, in SQL on its pg pool): one row per send, idempotent on
// its key and its Resend email id, and what came of the send once it is known (send-outcomes.ts).
import { randomUUID } from "node:crypto";
import type { Notification, Prisma } from "../../../generated/client/index.js";
import { jsonForPostgres, type SqlRunner } from "../../sql.ts";
import { NOTIFICATION_COLUMNS, sqlState } from "./record-sql.ts";
import { applySendOutcomes, type SendOutcome } from "./send-outcomes.ts";

export interface NewNotification {
  resendEmailId?: string | null;
  recipients: string[];
  from: string;
  subject: string;
  tenant?: string | null;
  tags?: Record<string, string>;
  category?: string | null;
  metadata?: Prisma.InputJsonValue | null;
  idempotencyKey?: string | null;
  suppressionBypassed?: boolean;
}

/** What recording one send answered: its notification, whether this record created it, and whether it attached its Resend id. */
export interface RecordResult {
  notification: Notification;
  created: boolean;
  attached: boolean;
}

/** deadlock_detected: two batches inserting overlapping ids in different orders; each statement is safe to run again. */
const DEADLOCK_DETECTED = "40P01";

/**
 * An idempotency key as it is unique: per tenant (a tenant of none is one more). Null without a key.
 * Spelled so that no two (tenant, key) pairs collide.
 */
function tenantKey(row: { tenant?: string | null; idempotencyKey?: string | null }): string | null {
  return row.idempotencyKey ? JSON.stringify([row.tenant ?? null, row.idempotencyKey]) : null;
}

/**
 * Split sends into those that share no idempotency key and no Resend id with an earlier one (they
 * can be written together in any order) and the rest, which must see what the earlier ones did:
 * a second record of a key is a repeat of the first, and a Resend id the first attaches to an
 * existing notification is no longer free for a later one.
 */
function splitByOverlap(inputs: NewNotification[]): { independent: number[]; dependent: number[] } {
  const keys = new Set<string>();
  const emailIds = new Set<string>();
  const independent: number[] = [];
  const dependent: number[] = [];
  inputs.forEach((input, index) => {
    const key = tenantKey(input);
    const emailId = input.resendEmailId ?? null;
    const overlaps = (key !== null && keys.has(key)) || (emailId !== null && emailIds.has(emailId));
    (overlaps ? dependent : independent).push(index);
    if (key !== null) keys.add(key);
    if (emailId !== null) emailIds.add(emailId);
  });
  return { independent, dependent };
}

/**
 * Insert sends that overlap nowhere among themselves, in one statement: a row whose idempotency key
 * or Resend id is taken already is left out (ON CONFLICT DO NOTHING, which also waits out a
 * concurrent record of the same key and then leaves it to the winner). Answers the rows inserted,
 * by id. Rows go in key order so that two batches of overlapping keys lock them in one order; each
 * is stamped a microsecond after the one before it in the order given, so newest first lists a
 * batch as recording it one by one did.
 *
 * The API's statements are named: pg prepares each once per connection, and PostgreSQL parses and
 * plans it once, not per request (a third of PostgreSQL's CPU per single record, by bench:record).
 * A pooler in front of PostgreSQL must keep prepared statements (PgBouncer 1.21+ does).
 */
async function insertNew(sql: SqlRunner, inputs: NewNotification[], ids: string[]): Promise<Map<string, Notification>> {
  const records = jsonForPostgres(
    inputs.map((input, index) => ({
      i: index,
      id: ids[index],
      resend_email_id: input.resendEmailId ?? null,
      recipients: input.recipients,
      from: input.from,
      subject: input.subject,
      tenant: input.tenant ?? null,
      tags: input.tags ?? {},
      category: input.category ?? null,
      metadata: input.metadata ?? null,
      idempotency_key: input.idempotencyKey ?? null,
      suppression_bypassed: input.suppressionBypassed ?? false,
    })),
  );
  const statement = `INSERT INTO notifications (id, resend_email_id, recipients, "from", subject, tenant, tags, category,
                                 metadata, idempotency_key, suppression_bypassed, created_at, updated_at)
    SELECT id, resend_email_id, recipients, "from", subject, tenant, tags, category, metadata, idempotency_key,
           suppression_bypassed, now() + i * interval '1 microsecond', now() + i * interval '1 microsecond'
      FROM jsonb_to_recordset($1::jsonb) AS x(i int, id uuid, resend_email_id text, recipients text[], "from" text,
                                             subject text, tenant text, tags jsonb, category text, metadata jsonb,
                                             idempotency_key text, suppression_bypassed boolean)
     ORDER BY idempotency_key, resend_email_id
    ON CONFLICT DO NOTHING
    RETURNING ${NOTIFICATION_COLUMNS}`;
  for (let attempt = 1; ; attempt += 1) {
    try {
      const { rows } = await sql.query<Notification>({
        name: "notifications-insert-new",
        text: statement,
        values: [records],
      });
      return new Map(rows.map((row) => [row.id, row]));
    } catch (error) {
      if (sqlState(error) !== DEADLOCK_DETECTED || attempt >= 3) throw error;
    }
  }
}

/**
 * The notifications recorded under these sends' idempotency keys (by tenantKey: a key is unique
 * per tenant, so another tenant's row under the same key is not a repeat) and Resend ids, by each.
 */
async function findExisting(
  sql: SqlRunner,
  inputs: Pick<NewNotification, "idempotencyKey" | "resendEmailId" | "tenant">[],
): Promise<{ byKey: Map<string, Notification>; byEmailId: Map<string, Notification> }> {
  const { rows } = await sql.query<Notification>(
    `SELECT ${NOTIFICATION_COLUMNS} FROM notifications
      WHERE idempotency_key = ANY($1::text[]) OR resend_email_id = ANY($2::text[])`,
    [
      inputs.flatMap((input) => (input.idempotencyKey ? [input.idempotencyKey] : [])),
      inputs.flatMap((input) => (input.resendEmailId ? [input.resendEmailId] : [])),
    ],
  );
  return {
    byKey: new Map(
      rows.flatMap((row) => {
        const key = tenantKey(row);
        return key ? [[key, row] as const] : [];
      }),
    ),
    byEmailId: new Map(rows.flatMap((row) => (row.resendEmailId ? [[row.resendEmailId, row] as const] : []))),
  };
}

/**
 * Record sends that overlap nowhere among themselves: one insert; when some were recorded already,
 * one read of those rows (by idempotency key, else by Resend id, as a lone record looks them up),
 * and the attach of the Resend ids that repeats bring to rows without one.
 */
async function recordIndependent(sql: SqlRunner, inputs: NewNotification[]): Promise<RecordResult[]> {
  const ids = inputs.map(() => randomUUID());
  const inserted = await insertNew(sql, inputs, ids);
  const results: RecordResult[] = [];
  const repeats: number[] = [];
  inputs.forEach((_input, index) => {
    const row = inserted.get(ids[index] as string);
    if (row) results[index] = { notification: row, created: true, attached: false };
    else repeats.push(index);
  });
  if (repeats.length === 0) return results;

  const existing = await findExisting(
    sql,
    repeats.map((index) => inputs[index] as NewNotification),
  );
  const toAttach: { index: number; outcome: SendOutcome }[] = [];
  for (const index of repeats) {
    const input = inputs[index] as NewNotification;
    const key = tenantKey(input);
    const row =
      (key ? existing.byKey.get(key) : undefined) ??
      (input.resendEmailId ? existing.byEmailId.get(input.resendEmailId) : undefined);
    // Left out of the insert, yet neither its key nor its id is found: its conflict was on a row gone since.
    if (!row)
      throw new Error(`notification ${input.idempotencyKey ?? input.resendEmailId} was neither inserted nor found`);
    results[index] = { notification: row, created: false, attached: false };
    // A repeat that brings the Resend id the first record lacked attaches it, as the PATCH after a send would.
    if (row.resendEmailId === null && input.resendEmailId) {
      toAttach.push({ index, outcome: { id: row.id, resendEmailId: input.resendEmailId } });
    }
  }
  if (toAttach.length > 0) {
    const outcomes = await applySendOutcomes(
      sql,
      toAttach.map(({ outcome }) => outcome),
    );
    toAttach.forEach(({ index }, n) => {
      const outcome = outcomes[n];
      // Not applied: the id is another notification's, and the repeat answers the first record as it is.
      if (outcome?.kind === "applied")
        results[index] = { notification: outcome.notification, created: false, attached: true };
    });
  }
  return results;
}

/**
 * Record sends as `record` does each, one result per input in order, as if one after the other:
 * those that overlap nowhere in one insert (and one read when some were recorded already), then
 * each send that shares a key or a Resend id with an earlier one, on its own once those are in.
 */
async function recordMany(sql: SqlRunner, inputs: NewNotification[]): Promise<RecordResult[]> {
  const { independent, dependent } = splitByOverlap(inputs);
  const results: RecordResult[] = [];
  const first = await recordIndependent(
    sql,
    independent.map((index) => inputs[index] as NewNotification),
  );
  independent.forEach((index, n) => {
    results[index] = first[n] as RecordResult;
  });
  for (const index of dependent) {
    [results[index]] = (await recordIndependent(sql, [inputs[index] as NewNotification])) as [RecordResult];
  }
  return results;
}

export const notificationRecords = {
  /**
   * Insert, or return the existing row when the idempotency key or the Resend email id is already
   * recorded. `created` says which. A repeat of a key that now brings the Resend id the first
   * record lacked attaches it (`attached`), as the PATCH after a send would.
   */
  async record(sql: SqlRunner, input: NewNotification): Promise<RecordResult> {
    const [result] = await recordMany(sql, [input]);
    return result as RecordResult;
  },

  recordMany,

  applySendOutcomes,

  /**
   * The tenant of each of these notifications (null for none); an unknown id is absent. The API
   * asks it before reporting outcomes (another tenant's notification is not found); the worker
   * asks it in its transaction for the lists its side effects go on.
   */
  async tenantsOf(sql: SqlRunner, ids: string[]): Promise<Map<string, string | null>> {
    if (ids.length === 0) return new Map();
    const { rows } = await sql.query<{ id: string; tenant: string | null }>({
      name: "notifications-tenants-of",
      text: "SELECT id::text AS id, tenant FROM notifications WHERE id = ANY($1::uuid[])",
      values: [ids],
    });
    return new Map(rows.map((row) => [row.id, row.tenant]));
  },
};
