// The sweeper's job scheduler on the `maintenance` queue: one schedule however many workers upsert
// it (the same id), and one pass at a time (BullMQ adds the next run when one starts, and the
// maintenance worker runs one job at a time). Removed when RESEND_API_KEY is unset.
import { JOBS, type Queues } from "@mailstate/queue";

const NAME = "maintenance.resend-sweep";

/** Every `intervalMs` (and once now); null removes the schedule. */
export async function scheduleSweeper(queues: Queues, intervalMs: number | null): Promise<void> {
  if (intervalMs === null) {
    await queues.maintenance.removeJobScheduler(NAME);
    return;
  }
  await queues.maintenance.upsertJobScheduler(
    NAME,
    { every: intervalMs },
    { name: NAME, data: {}, opts: JOBS[NAME].options },
  );
}
