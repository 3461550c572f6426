// Scheduled housekeeping the worker runs on the `maintenance` queue, one job at a time.
import {
  type EnsureReport,
  ensurePartitions,
  type RetentionReport,
  retentionCutoff,
  runRetention,
  type ScrubReport,
  type SqlPool,
  scrubEngagementPii,
} from "@mailstate/db";
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

export interface RetentionJobReport extends RetentionReport {
  /** Event partitions created ahead (today and the 7 days after) before the pass. */
  partitions: EnsureReport;
}

/**
 * One retention pass: the event partitions of the coming days first (so the pass never waits on a
 * day that has none), then everything recorded before the cutoff of `days` days.
 */
export async function runRetentionPass(
  sql: SqlPool,
  {
    days,
    now = new Date(),
    dryRun = false,
    chunkSize,
  }: { days: number; now?: Date; dryRun?: boolean; chunkSize?: number },
): Promise<RetentionJobReport> {
  const partitions = dryRun ? { created: [], moved: 0 } : await ensurePartitions(sql, { now });
  const report = await runRetention(sql, {
    cutoff: retentionCutoff(now, days),
    dryRun,
    ...(chunkSize ? { chunkSize } : {}),
  });
  return { ...report, partitions };
}

export interface Maintenance {
  scrubEngagementPii(): Promise<PiiScrubReport>;
  retention(): Promise<RetentionJobReport>;
  /** The last retention pass this process finished, for /metrics. */
  lastRetention(): RetentionJobReport | null;
}

export function createMaintenance({
  sql,
  piiDays,
  retentionDays,
  logger,
}: {
  sql: SqlPool;
  piiDays: number;
  retentionDays: number;
  logger: Logger;
}) {
  let last: RetentionJobReport | null = null;
  return {
    async scrubEngagementPii() {
      const report = await scrubExpiredEngagementPii(sql, { days: piiDays });
      if (report.engagementRows + report.eventRows > 0)
        logger.info(report, "engagement IP addresses and user agents dropped");
      return report;
    },
    async retention() {
      const report = await runRetentionPass(sql, { days: retentionDays });
      last = report;
      const removed = Object.values(report.removed).reduce((sum, count) => sum + count, 0);
      if (removed > 0 || report.partitionsDropped.length > 0 || report.partitions.created.length > 0)
        logger.info(report, "retention pass: per-message data older than the cutoff removed");
      return report;
    },
    lastRetention: () => last,
  } satisfies Maintenance;
}
