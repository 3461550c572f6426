// Personal data kept no longer than it is needed: opens and clicks lose their IP address and user
// agent after a number of days, in the engagement log and in the raw webhook payload alike.
import type { SqlPool } from "./reconcile-store.ts";

/**
 * Where the payloads carry them (Resend puts them under data.click; data.open is scrubbed too,
 * should it ever carry them). Word for word the predicate of delivery_events_pii_idx.
 */
const PAYLOAD_HAS_PII =
  "(payload #> '{data,click}' ?| ARRAY['ipAddress', 'userAgent'] OR payload #> '{data,open}' ?| ARRAY['ipAddress', 'userAgent'])";
/** Word for word the predicate of engagement_events_pii_idx. */
const ROW_HAS_PII = "(ip_address IS NOT NULL OR user_agent IS NOT NULL)";

export interface ScrubReport {
  /** engagement_events rows whose ip_address and user_agent were cleared */
  engagementRows: number;
  /** delivery_events rows whose payload lost data.click/data.open ipAddress and userAgent */
  eventRows: number;
}

/**
 * Clear IP addresses and user agents of events older than `before` (their own time). Each
 * statement takes at most `chunkSize` rows, in its own transaction, skipping rows another
 * transaction holds, so it never keeps many rows locked for long; it loops until none are left.
 * Rows already clean leave the partial indexes it reads, so a second run finds nothing to do.
 */
export async function scrubEngagementPii(
  pool: SqlPool,
  { before, chunkSize = 5_000 }: { before: Date; chunkSize?: number },
): Promise<ScrubReport> {
  const report: ScrubReport = { engagementRows: 0, eventRows: 0 };
  for (;;) {
    const { rowCount } = await pool.query(
      `UPDATE engagement_events SET ip_address = NULL, user_agent = NULL
        WHERE id IN (SELECT id FROM engagement_events WHERE occurred_at < $1 AND ${ROW_HAS_PII}
                      ORDER BY occurred_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [before, chunkSize],
    );
    report.engagementRows += rowCount ?? 0;
    if ((rowCount ?? 0) < chunkSize) break;
  }
  for (;;) {
    const { rowCount } = await pool.query(
      `UPDATE delivery_events
          SET payload = payload #- '{data,click,ipAddress}' #- '{data,click,userAgent}'
                                #- '{data,open,ipAddress}' #- '{data,open,userAgent}'
        WHERE id IN (SELECT id FROM delivery_events WHERE occurred_at < $1 AND ${PAYLOAD_HAS_PII}
                      ORDER BY occurred_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [before, chunkSize],
    );
    report.eventRows += rowCount ?? 0;
    if ((rowCount ?? 0) < chunkSize) break;
  }
  return report;
}
