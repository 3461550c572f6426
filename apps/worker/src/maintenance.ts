// Scheduled housekeeping the worker runs on the `maintenance` queue, one job at a time.
import { type ScrubReport, type SqlPool, scrubEngagementPii } from "@mailstate/db";
import type { Logger } from "@mailstate/runtime";

const DAY_MS = 24 * 3_600_000;

export interface PiiScrubReport extends ScrubReport {
  /** Events older than this (their own time) no longer carry IP addresses or user agents. */
  before: string;
}

/** Drop IP addresses and user agents of opens and clicks older than `days` days, in the engagement log and the raw payloads. */
export async function scrubExpiredEngagementPii(
  sql: SqlPool,
  { days, now = new Date(), chunkSize }: { days: number; now?: Date; chunkSize?: number },
): Promise<PiiScrubReport> {
  const before = new Date(now.getTime() - days * DAY_MS);
  const report = await scrubEngagementPii(sql, { before, chunkSize });
  return { ...report, before: before.toISOString() };
}

export interface Maintenance {
  scrubEngagementPii(): Promise<PiiScrubReport>;
}

export function createMaintenance({ sql, piiDays, logger }: { sql: SqlPool; piiDays: number; logger: Logger }) {
  return {
    async scrubEngagementPii() {
      const report = await scrubExpiredEngagementPii(sql, { days: piiDays });
      if (report.engagementRows + report.eventRows > 0)
        logger.info(report, "engagement IP addresses and user agents dropped");
      return report;
    },
  } satisfies Maintenance;
}
