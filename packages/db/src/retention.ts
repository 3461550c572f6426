// Personal data kept no longer than it is needed: opens and clicks lose their IP address and user
// agent after a number of days, in the engagement log and in the raw webhook payload alike.
import type { SqlPool } from "./sql.ts";
import { events } from "./tables/delivery-events.ts";
import { engagement } from "./tables/engagement-events.ts";

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
  const engagementRows = await engagement.scrubPii(pool, { before, chunkSize });
  const eventRows = await events.scrubPii(pool, { before, chunkSize });
  return { engagementRows, eventRows };
}
