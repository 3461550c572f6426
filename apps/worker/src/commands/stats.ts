// `mailstate stats`: queue depths per state (inbox, unmatched, maintenance), parked and invalid
// events in the log, open dead letters, notifications by state (and sends Resend refused),
// suppressions by reason.
import { defaultPartitionRows, events, oldestDayKept, ops, type RetentionReport } from "@mailstate/db";
import { withInboxShardsInUse } from "@mailstate/queue";
import type { Queue } from "bullmq";
import { type Context, fromDb } from "./context.ts";

const JOB_STATES = ["waiting", "active", "delayed", "prioritized", "waiting-children", "failed", "completed"] as const;

type Counts = Record<(typeof JOB_STATES)[number], number>;

interface Stats {
  queuePrefix: string;
  /** `inbox`: the sum over every inbox shard. */
  queues: Record<"inbox" | "unmatched" | "maintenance", Counts>;
  /**
   * Each inbox shard by its queue name (`inbox`, or `inbox-0`…): INBOX_SHARDS's, and those of an
   * earlier INBOX_SHARDS still recorded, which the workers drain.
   */
  inboxShards: Record<string, Counts>;
  unmatchedEvents: number;
  /** Logged events the schema rejected (`reprocess --status invalid`). */
  invalidEvents: number;
  /** Events that could not be applied and are not retried yet (`dead-letters list`). */
  openDeadLetters: number;
  notificationsByState: Record<string, number>;
  /** Recorded, then refused by Resend (they stay `recorded`: no Resend event will come). */
  refusedSends: number;
  suppressionsByReason: Record<string, number>;
  retention: {
    days: number;
    /** `YYYY-MM-DD`: the oldest day of per-message data kept (event partition or notification); null when none. */
    oldestDayKept: string | null;
    /** Rows of each event table outside every day partition. */
    defaultPartitionRows: Record<string, number>;
    /** The worker's last retention pass still in the maintenance queue's completed jobs. */
    lastPass: (Pick<RetentionReport, "cutoff" | "removed" | "partitionsDropped"> & { finishedAt: string }) | null;
  };
}

/** The newest completed retention job's report, from the maintenance queue (kept 7 days, 200 jobs). */
async function lastRetentionPass(queue: Queue): Promise<Stats["retention"]["lastPass"]> {
  const jobs = await queue.getJobs(["completed"], 0, 199);
  const newest = jobs
    .filter((job) => job.name === "maintenance.retention" && job.returnvalue && job.finishedOn)
    .sort((a, b) => (b.finishedOn ?? 0) - (a.finishedOn ?? 0))[0];
  if (!newest) return null;
  const { cutoff, removed, partitionsDropped } = newest.returnvalue as RetentionReport;
  return { cutoff, removed, partitionsDropped, finishedAt: new Date(newest.finishedOn ?? 0).toISOString() };
}

async function collectStats(context: Context): Promise<Stats> {
  const queues = await context.queues();
  const counts = async (queue: Queue) => {
    const raw = await queue.getJobCounts(...JOB_STATES);
    return Object.fromEntries(JOB_STATES.map((state) => [state, raw[state] ?? 0])) as Counts;
  };
  const prefix = context.env.QUEUE_PREFIX;
  const { shards, shardCounts } = await withInboxShardsInUse(await context.redis(), queues, prefix, async (shards) => ({
    shards,
    shardCounts: await Promise.all(shards.map(counts)),
  }));
  const inboxShards = Object.fromEntries(shards.map((queue, index) => [queue.name, shardCounts[index] as Counts]));
  const inbox = Object.fromEntries(
    JOB_STATES.map((state) => [state, shardCounts.reduce((sum, shard) => sum + shard[state], 0)]),
  ) as Counts;
  const db = context.db();
  const sql = context.sql();
  const [oldest, defaultRows, lastPass] = await Promise.all([
    fromDb(context, oldestDayKept(sql)),
    fromDb(context, defaultPartitionRows(sql)),
    lastRetentionPass(queues.maintenance),
  ]);
  const [unmatched, maintenance, unmatchedEvents, recovery, notificationsByState, refusedSends, suppressionsByReason] =
    await Promise.all([
      counts(queues.unmatched),
      counts(queues.maintenance),
      fromDb(context, events.countByStatus(db, "unmatched")),
      fromDb(context, ops.recoveryCounts(db)),
      fromDb(context, ops.notificationsByState(db)),
      fromDb(context, ops.refusedSends(db)),
      fromDb(context, ops.suppressionsByReason(db)),
    ]);
  return {
    queuePrefix: context.env.QUEUE_PREFIX,
    queues: { inbox, unmatched, maintenance },
    inboxShards,
    unmatchedEvents,
    ...recovery,
    notificationsByState,
    refusedSends,
    suppressionsByReason,
    retention: {
      days: context.env.RETENTION_DAYS,
      oldestDayKept: oldest ? oldest.toISOString().slice(0, 10) : null,
      defaultPartitionRows: defaultRows,
      lastPass,
    },
  };
}

export async function stats(context: Context, { json }: { json: boolean }): Promise<number> {
  const result = await collectStats(context);
  const { out } = context.io;
  if (json) {
    out(JSON.stringify(result, null, 2));
    return 0;
  }
  out(`queues (prefix ${result.queuePrefix})`);
  for (const [name, counts] of Object.entries(result.queues)) {
    out(`  ${name.padEnd(10)} ${JOB_STATES.map((state) => `${state} ${counts[state]}`).join("  ")}`);
    const shards = Object.entries(result.inboxShards);
    if (name !== "inbox" || shards.length < 2) continue;
    for (const [shard, shardCounts] of shards) {
      out(`    ${shard.padEnd(8)} ${JOB_STATES.map((state) => `${state} ${shardCounts[state]}`).join("  ")}`);
    }
  }
  out("event log");
  out(`  unmatched events  ${result.unmatchedEvents}`);
  out(`  invalid events    ${result.invalidEvents}`);
  out(`  dead letters      ${result.openDeadLetters} open`);
  out("notifications by state");
  table(out, result.notificationsByState);
  out(`  of them refused by Resend (still recorded)  ${result.refusedSends}`);
  out("suppressions by reason");
  table(out, result.suppressionsByReason);
  const { retention } = result;
  out(`retention (RETENTION_DAYS ${retention.days})`);
  out(`  oldest day kept: ${retention.oldestDayKept ?? "(nothing kept)"}`);
  out(
    `  rows in default partitions: ${Object.entries(retention.defaultPartitionRows)
      .map(([name, rows]) => `${name} ${rows}`)
      .join("  ")}`,
  );
  const last = retention.lastPass;
  if (last)
    out(
      `  last pass ${last.finishedAt} (cutoff ${last.cutoff}): removed ${Object.entries(last.removed)
        .map(([name, rows]) => `${name} ${rows}`)
        .join(", ")}; ${last.partitionsDropped.length} partitions dropped`,
    );
  return 0;
}

function table(out: (line: string) => void, counts: Record<string, number>): void {
  const rows = Object.entries(counts).sort(([, a], [, b]) => b - a);
  if (rows.length === 0) {
    out("  (none)");
    return;
  }
  const width = Math.max(...rows.map(([key]) => key.length));
  for (const [key, count] of rows) out(`  ${key.padEnd(width)}  ${String(count).padStart(6)}`);
  out(`  ${"total".padEnd(width)}  ${String(rows.reduce((sum, [, count]) => sum + count, 0)).padStart(6)}`);
}
