// `mailstate retention [--dry-run] [--json]`: one retention pass by hand (RETENTION_DAYS), as the
// worker's hourly job runs it; --dry-run counts what it would remove and changes nothing.
import type { RetentionCounts } from "@mailstate/db";
import { type RetentionJobReport, runRetentionPass } from "../maintenance.ts";
import { type Context, fromDb } from "./context.ts";

const LABELS: Record<keyof RetentionCounts, string> = {
  notifications: "notifications",
  deliveryEvents: "delivery_events",
  engagementEvents: "engagement_events",
  outboundMessages: "outbound_messages",
  deadLetters: "dead_letters (resolved)",
  erasedEmails: "erased_emails",
};

export async function retention(
  context: Context,
  { dryRun, json }: { dryRun: boolean; json: boolean },
): Promise<number> {
  const report = await fromDb(context, runRetentionPass(context.sql(), { days: context.env.RETENTION_DAYS, dryRun }));
  if (json) {
    context.io.out(JSON.stringify(report));
    return 0;
  }
  printReport(context.io.out, report, context.env.RETENTION_DAYS);
  return 0;
}

function printReport(out: (line: string) => void, report: RetentionJobReport, days: number): void {
  const verb = report.dryRun ? "would remove" : "removed";
  out(
    `cutoff ${report.cutoff} (RETENTION_DAYS ${days}): everything before it ${verb}${report.dryRun ? " (dry run: nothing changed)" : ""}`,
  );
  const width = Math.max(...Object.values(LABELS).map((label) => label.length));
  for (const [key, label] of Object.entries(LABELS) as [keyof RetentionCounts, string][])
    out(`  ${label.padEnd(width)}  ${String(report.removed[key]).padStart(8)}`);
  out(
    `partitions ${report.dryRun ? "to drop" : "dropped"}: ${report.partitionsDropped.length ? report.partitionsDropped.join(", ") : "(none)"}`,
  );
  if (report.partitions.created.length)
    out(
      `partitions created ahead: ${report.partitions.created.join(", ")} (${report.partitions.moved} rows moved out of the default)`,
    );
}
