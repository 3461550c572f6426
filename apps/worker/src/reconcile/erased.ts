// Webhooks of erased emails (`DELETE /v1/recipients/:email`, `mailstate erase`): a late event of an
// email id tombstoned in erased_emails is acknowledged and dropped before it is logged, so the
// address does not come back. A hard bounce or complaint of it still suppresses its recipients (on
// the erased notification's tenant's list in tenant scope): the suppression row is what erasure keeps.
import { erasedEmails, type SqlPool, withSqlTransaction, writeTogether } from "@mailstate/db";
import { safeParseResendEvent, tryParseResendTimestamp } from "@mailstate/resend-events";
import { planSuppressions } from "@mailstate/state-machine";
import type { IncomingEvent } from "./decode.ts";
import {
  applySuppressionPolicy,
  type CreatedSuppression,
  type ListedEvent,
  type SuppressionRules,
} from "./side-effects.ts";

export interface WithoutErased {
  /** The events to reconcile. */
  kept: IncomingEvent[];
  /** svix-ids of the events dropped (outcome `erased`). */
  erased: string[];
  /** Suppressions their bounces and complaints created. */
  suppressed: CreatedSuppression[];
}

/** `data.email_id` of a raw webhook, read without parsing it (decodeEvent parses it later, once). */
function rawEmailId(raw: Record<string, unknown>): string | null {
  const data = raw.data as { email_id?: unknown } | null | undefined;
  return typeof data?.email_id === "string" && data.email_id !== "" ? data.email_id : null;
}

/** Split off the events of erased email ids (one indexed lookup per batch); run the suppressions of theirs that suppress. */
export async function withoutErased(
  sql: SqlPool,
  items: IncomingEvent[],
  rules: SuppressionRules,
): Promise<WithoutErased> {
  const emailIds = [...new Set(items.flatMap((item) => rawEmailId(item.raw) ?? []))];
  const tombstones = await erasedEmails.among(sql, emailIds);
  if (tombstones.size === 0) return { kept: items, erased: [], suppressed: [] };
  const kept: IncomingEvent[] = [];
  const dropped: IncomingEvent[] = [];
  for (const item of items) {
    const emailId = rawEmailId(item.raw);
    (emailId !== null && tombstones.has(emailId) ? dropped : kept).push(item);
  }
  const suppressing: ListedEvent[] = dropped.flatMap((item) => {
    const parsed = safeParseResendEvent(item.raw);
    if (!parsed.success || planSuppressions(parsed.data, rules).suppress.length === 0) return [];
    const list = rules.scope === "tenant" ? (tombstones.get(rawEmailId(item.raw) ?? "") ?? null) : null;
    const occurredAt = tryParseResendTimestamp(parsed.data.created_at)?.date ?? item.receivedAt;
    return [{ svixId: item.svixId, event: parsed.data, occurredAt, list }];
  });
  const suppressed =
    suppressing.length > 0
      ? await withSqlTransaction(sql, async (client) => {
          const { created, writes } = await applySuppressionPolicy(client, suppressing, rules);
          await writeTogether(client, writes);
          return created;
        })
      : [];
  return { kept, erased: dropped.map((item) => item.svixId), suppressed };
}
