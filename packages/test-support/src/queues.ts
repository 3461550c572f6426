import type { Queues } from "@mailstate/queue";
import type { Job, Queue } from "bullmq";
import { waitUntil } from "./wait.ts";

const UNFINISHED = ["waiting", "active", "delayed", "prioritized"] as const;

export interface DrainOptions {
  intervalMs?: number;
  /** Answers why waiting is hopeless (a worker process exited), to fail at once; undefined while it is not. */
  stop?: () => string | undefined;
  /** Added to either error: what tells why (a worker's output). */
  detail?: () => string;
}

/** Until the queue has no job waiting, delayed, prioritized or active; answers how long it took. */
export async function waitForDrain(
  queue: Queue,
  timeoutMs = 15_000,
  { intervalMs = 20, stop, detail = () => "" }: DrainOptions = {},
): Promise<number> {
  const started = Date.now();
  let counts: Record<string, number> = {};
  await waitUntil(
    `the ${queue.name} queue to drain`,
    async () => {
      counts = await queue.getJobCounts(...UNFINISHED);
      if (Object.values(counts).every((count) => count === 0)) return true;
      const stopped = stop?.();
      if (stopped) throw new Error(`${stopped} with the ${queue.name} queue at ${JSON.stringify(counts)}${detail()}`);
      return false;
    },
    timeoutMs,
    { intervalMs, detail: () => `still ${JSON.stringify(counts)}${detail()}` },
  );
  return Date.now() - started;
}

/** The job of the sweeper's schedule on the maintenance queue (the worker's resend/schedule.ts). */
const SWEEP_JOB = "maintenance.resend-sweep";

/**
 * Until `passes` runs of the sweeper's schedule, started from now on, have completed, and the
 * `resend` queue has then done the calls they queued (polls, audits, replays): what a test that
 * checks "nothing more happens over a few passes" waits for. The maintenance queue keeps completed
 * jobs (RETENTION.maintenance). A run on a worker without RESEND_API_KEY does nothing (it answers
 * `{ disabled: true }`) and is not counted.
 */
export async function waitForSweeperPasses(
  queues: Pick<Queues, "maintenance" | "resend">,
  passes: number,
  timeoutMs = 20_000,
): Promise<void> {
  const since = Date.now();
  let seen = 0;
  await waitUntil(
    `${passes} passes of the sweeper`,
    async () => {
      const completed = (await queues.maintenance.getJobs(["completed"])).filter(Boolean);
      seen = completed.filter(
        (job) => job.name === SWEEP_JOB && (job.processedOn ?? 0) >= since && job.returnvalue?.disabled !== true,
      ).length;
      return seen >= passes;
    },
    timeoutMs,
    { intervalMs: 100, detail: () => `${seen} so far` },
  );
  await waitForDrain(queues.resend, timeoutMs);
}

/** An event in the inbox: the job that holds it (a batch, or a job of one webhook), and the event as the job holds it. */
export interface InboxEventFound {
  job: Job;
  event: { svixId: string; receivedAt: string; event: Record<string, unknown> };
}

const EVERY_STATE = ["waiting", "active", "delayed", "prioritized", "completed", "failed"] as const;

/** Every event the queue's jobs hold, in every state, oldest job first: a test's inbox is small. */
export async function inboxEvents(queue: Queue): Promise<InboxEventFound[]> {
  const jobs = (await queue.getJobs([...EVERY_STATE], 0, -1, true)).filter(Boolean);
  return jobs.flatMap((job) => {
    const events = (job.data as { events?: unknown })?.events;
    const held = Array.isArray(events) ? events : [job.data];
    return held.map((event) => ({ job, event: event as InboxEventFound["event"] }));
  });
}

/** The jobs (of one shard) that hold this svix-id, and the event as each holds it. */
export async function findInboxEvent(queue: Queue, svixId: string): Promise<InboxEventFound[]> {
  return (await inboxEvents(queue)).filter(({ event }) => event?.svixId === svixId);
}
