import type { Queue } from "bullmq";
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
