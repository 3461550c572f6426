// Erasing a recipient (a data-subject request): every row that holds the address goes, in one
// transaction, except its suppression rows, which stay so that it is never mailed again. Erasure
// crosses every per-message table, so its statements are together here: what "erased" means reads
// in one place. The Redis side is the caller's (a function of @mailstate/queue), run between this
// transaction and the audit entry, so that the entry counts both.
import { createHash } from "node:crypto";
import type { Prisma } from "../generated/client/index.js";
import { type SqlClient, type SqlPool, withSqlTransaction } from "./sql.ts";
import { type Actor, auditLog } from "./tables/audit-log.ts";
import { erasedEmails } from "./tables/erased-emails.ts";

export interface ErasureScope {
  /** The address, normalised as everywhere else (normalizeEmail of @mailstate/state-machine). */
  email: string;
  /** Only this tenant's notifications (a tenant key, or an admin key naming one); null: everywhere. */
  tenant: string | null;
}

/** Rows removed or rewritten in PostgreSQL, by kind. */
export interface ErasedRows {
  /** Notifications with the address among their recipients. */
  notifications: number;
  /** Their delivery events (and events logged under their email ids but attached to none). */
  deliveryEvents: number;
  /** Their opens and clicks. */
  engagementEvents: number;
  /** Events attached to no notification whose payload names the address: parked, contact.*, suppression.*, invalid. */
  unattachedEvents: number;
  /** Click links of other notifications that carried the address (query string and fragment cut off). */
  clickLinks: number;
  deadLetters: number;
  outboundMessages: number;
  softBounceCounters: number;
  /** Audit entries whose address became its SHA-256. */
  auditEntries: number;
}

/** What the Redis side looks for besides the address: the ids of what was erased here. */
export interface ErasedTargets extends ErasureScope {
  /** Every form of the address a job or payload may hold, lowercase (raw, URL-encoded, JSON-escaped). */
  needles: string[];
  notificationIds: string[];
  emailIds: string[];
  outboundMessageIds: string[];
}

export interface ErasureReport<Jobs extends { [K in keyof Jobs]: number }> {
  email: string;
  tenant: string | null;
  erased: ErasedRows & Jobs;
}

/** How an erased address is named from now on (the audit log): `sha256:<hex>` of the normalised address. */
export function erasedAddressLabel(email: string): string {
  return `sha256:${createHash("sha256").update(email, "utf8").digest("hex")}`;
}

/** The forms an address takes in stored text: as is, URL-encoded (whole, or just its `@`), JSON-escaped. */
export function addressForms(email: string): string[] {
  const forms = [email, encodeURIComponent(email), email.replaceAll("@", "%40"), JSON.stringify(email).slice(1, -1)];
  return [...new Set(forms.map((form) => form.toLowerCase()))];
}

/** ILIKE patterns that find any form anywhere in a text: `_`, `%` and `\` (common in addresses) escaped. */
function likePatterns(forms: string[]): string[] {
  return forms.map((form) => `%${form.replace(/[\\%_]/g, "\\$&")}%`);
}

/** One case-insensitive regular expression matching any form (for rewriting text in place). */
function formsRegex(forms: string[]): string {
  return forms.map((form) => form.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|");
}

/** A link with its query string and fragment cut off; null when what is left still names the address. */
const STRIPPED_LINK = (column: string) => `
  CASE WHEN split_part(split_part(${column}, '#', 1), '?', 1) ILIKE ANY($1::text[]) THEN NULL
       ELSE split_part(split_part(${column}, '#', 1), '?', 1) END`;

async function count(client: SqlClient, text: string, values: unknown[]): Promise<number> {
  return (await client.query(text, values)).rowCount ?? 0;
}

async function eraseRows(
  client: SqlClient,
  { email, tenant }: ErasureScope,
  patterns: string[],
): Promise<{ rows: ErasedRows; notificationIds: string[]; emailIds: string[]; outboundMessageIds: string[] }> {
  // Locked in id order, as the worker locks notifications, so a batch in flight finishes first or waits.
  const { rows: erased } = await client.query<{ id: string; resend_email_id: string | null; tenant: string | null }>(
    `SELECT id::text, resend_email_id, tenant FROM notifications
     WHERE recipients @> ARRAY[$1]::text[] AND ($2::text IS NULL OR tenant = $2::text)
     ORDER BY id FOR UPDATE`,
    [email, tenant],
  );
  const ids = erased.map((row) => row.id);
  const emailIds = erased.flatMap((row) => (row.resend_email_id ? [row.resend_email_id] : []));
  // Their events first, by notification id, whatever the foreign keys' action.
  const engagementEvents = await count(
    client,
    "DELETE FROM engagement_events WHERE notification_id = ANY($1::uuid[])",
    [ids],
  );
  const deliveryEvents = await count(
    client,
    `DELETE FROM delivery_events
     WHERE notification_id = ANY($1::uuid[]) OR (notification_id IS NULL AND email_id = ANY($2::text[]))`,
    [ids, emailIds],
  );
  const notifications = await count(client, "DELETE FROM notifications WHERE id = ANY($1::uuid[])", [ids]);

  // Events attached to no notification cannot be told apart by tenant: only an erase everywhere takes them.
  const unattached =
    tenant === null
      ? (
          await client.query<{ email_id: string | null }>(
            `DELETE FROM delivery_events
             WHERE status IN ('unmatched', 'ignored', 'invalid') AND notification_id IS NULL
               AND payload::text ILIKE ANY($1::text[])
             RETURNING email_id`,
            [patterns],
          )
        ).rows
      : [];

  // Links of other notifications' clicks that carried the address (an unsubscribe link, say).
  const inScope = `($2::text IS NULL OR notification_id IN (SELECT id FROM notifications WHERE tenant = $2::text))`;
  const clickRows = await count(
    client,
    `UPDATE engagement_events SET link = ${STRIPPED_LINK("link")}
     WHERE link ILIKE ANY($1::text[]) AND ${inScope}`,
    [patterns, tenant],
  );
  // Parked clicks (of any email) are logged whole in delivery_events: their links too.
  const clickPayloads = await count(
    client,
    `UPDATE delivery_events
     SET payload = jsonb_set(payload, '{data,click,link}',
                             COALESCE(to_jsonb(${STRIPPED_LINK("payload->'data'->'click'->>'link'")}), 'null'::jsonb))
     WHERE type = 'email.clicked' AND payload->'data'->'click'->>'link' ILIKE ANY($1::text[]) AND ${inScope}`,
    [patterns, tenant],
  );

  const deadLetters = await count(
    client,
    `DELETE FROM dead_letters
     WHERE email_id = ANY($2::text[])
        OR ($3::text IS NULL AND (body ILIKE ANY($1::text[]) OR error ILIKE ANY($1::text[])))`,
    [patterns, emailIds, tenant],
  );
  const { rows: outbound } = await client.query<{ id: string }>(
    `DELETE FROM outbound_messages m USING webhook_endpoints e
     WHERE m.endpoint_id = e.id
       AND (m.ordering_key = ANY($2::text[])
            OR (($3::text IS NULL OR e.tenant = $3::text)
                AND (m.ordering_key = $4 OR m.payload::text ILIKE ANY($1::text[]) OR m.last_error ILIKE ANY($1::text[]))))
     RETURNING m.id`,
    [patterns, ids, tenant, email],
  );
  const softBounceCounters = await count(
    client,
    "DELETE FROM soft_bounce_counters WHERE email = $1 AND ($2::text IS NULL OR tenant = $2::text)",
    [email, tenant],
  );
  // The trail stays, without the address: a hash is no one's data but the holder of the address's.
  // Every entry, whatever its list: rewriting an address as its hash takes nothing from any tenant.
  const label = erasedAddressLabel(email);
  const auditEntries = await count(
    client,
    `UPDATE audit_log
     SET email = CASE WHEN lower(email) = $2 THEN $3 ELSE email END,
         detail = CASE WHEN detail::text ILIKE ANY($1::text[])
                       THEN regexp_replace(detail::text, $4, $3, 'gi')::jsonb ELSE detail END
     WHERE lower(email) = $2 OR detail::text ILIKE ANY($1::text[])`,
    [patterns, email, label, formsRegex(addressForms(email))],
  );

  await erasedEmails.record(client, [
    ...erased.flatMap((row) => (row.resend_email_id ? [{ emailId: row.resend_email_id, tenant: row.tenant }] : [])),
    ...unattached.flatMap((row) => (row.email_id ? [{ emailId: row.email_id, tenant: null }] : [])),
  ]);
  return {
    rows: {
      notifications,
      deliveryEvents,
      engagementEvents,
      unattachedEvents: unattached.length,
      clickLinks: clickRows + clickPayloads,
      deadLetters,
      outboundMessages: outbound.length,
      softBounceCounters,
      auditEntries,
    },
    notificationIds: ids,
    emailIds: [...new Set([...emailIds, ...unattached.flatMap((row) => (row.email_id ? [row.email_id] : []))])],
    outboundMessageIds: outbound.map((row) => row.id),
  };
}

/**
 * Erase an address: its rows in one transaction (notifications go with their events; the Resend
 * email ids of those erased are tombstoned), then its jobs (`eraseJobs`, given what was erased),
 * then the audit entry `recipient.erased` with every count, under the address's hash. A failure of
 * the jobs' step is recorded in the entry too, and thrown: erasing again finishes the job.
 */
export async function eraseRecipient<Jobs extends { [K in keyof Jobs]: number }>(
  pool: SqlPool,
  { email, tenant, actor }: ErasureScope & { actor: Actor },
  eraseJobs: (targets: ErasedTargets) => Promise<Jobs>,
): Promise<ErasureReport<Jobs>> {
  const needles = addressForms(email);
  const patterns = likePatterns(needles);
  const { rows, ...ids } = await withSqlTransaction(pool, (client) => eraseRows(client, { email, tenant }, patterns));
  const entry = (detail: Prisma.InputJsonObject) =>
    auditLog.record(pool, {
      action: "recipient.erased",
      actor,
      tenant,
      email: erasedAddressLabel(email),
      detail: { scope: tenant === null ? "everywhere" : "tenant", ...detail },
    });
  let jobs: Jobs;
  try {
    jobs = await eraseJobs({ email, tenant, needles, ...ids });
  } catch (error) {
    await entry({ ...rows, jobsError: error instanceof Error ? error.message : String(error) });
    throw error;
  }
  const erased = { ...rows, ...jobs };
  await entry(erased);
  return { email, tenant, erased };
}
