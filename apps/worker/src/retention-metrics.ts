// Gauges of retention read at scrape time: the oldest day of per-message data kept, the rows in the
// event log's default partitions (events outside every day partition), and what the last retention
// pass of this process removed.
import { defaultPartitionRows, oldestDayKept, type RetentionCounts, type SqlPool } from "@mailstate/db";
import { sharedReading } from "@mailstate/runtime";
import { Gauge, type Registry } from "prom-client";
import type { RetentionJobReport } from "./maintenance.ts";

interface Reading {
  oldestDay: Date | null;
  defaultRows: Record<string, number>;
}

/** The table label of each count of a retention report. */
const TABLES: Record<keyof RetentionCounts, string> = {
  notifications: "notifications",
  deliveryEvents: "delivery_events",
  engagementEvents: "engagement_events",
  outboundMessages: "outbound_messages",
  deadLetters: "dead_letters",
  erasedEmails: "erased_emails",
};

export function registerRetentionGauges(
  registry: Registry,
  sql: SqlPool,
  lastPass: () => RetentionJobReport | null,
  { timeoutMs = 1_000 } = {},
): void {
  const read = sharedReading<Reading>(
    async () => {
      const [oldestDay, defaultRows] = await Promise.all([oldestDayKept(sql), defaultPartitionRows(sql)]);
      return { oldestDay, defaultRows };
    },
    timeoutMs,
    "reading retention figures",
  );
  const registers = [registry];
  new Gauge({
    name: "mailstate_retention_oldest_day_timestamp_seconds",
    help: "00:00 UTC of the oldest day of per-message data kept (oldest event partition or notification); NaN when unknown or none",
    registers,
    async collect() {
      const value = await read();
      this.set(value?.oldestDay ? value.oldestDay.getTime() / 1_000 : Number.NaN);
    },
  });
  new Gauge({
    name: "mailstate_event_log_default_partition_rows",
    help: "Rows in the event log's default partitions: events outside every day partition (0 when healthy)",
    labelNames: ["table"] as const,
    registers,
    async collect() {
      this.reset();
      for (const [table, rows] of Object.entries((await read())?.defaultRows ?? {})) this.set({ table }, rows);
    },
  });
  new Gauge({
    name: "mailstate_retention_last_pass_removed_rows",
    help: "Rows the last retention pass of this worker removed, per table (absent before its first pass)",
    labelNames: ["table"] as const,
    registers,
    collect() {
      this.reset();
      const report = lastPass();
      if (!report) return;
      for (const [key, table] of Object.entries(TABLES) as [keyof RetentionCounts, string][])
        this.set({ table }, report.removed[key]);
    },
  });
  new Gauge({
    name: "mailstate_retention_last_pass_partitions_dropped",
    help: "Event partitions the last retention pass of this worker dropped (absent before its first pass)",
    registers,
    collect() {
      this.reset();
      const report = lastPass();
      if (report) this.set(report.partitionsDropped.length);
    },
  });
}
