// A slot of a queue's BullMQ rate limiter for a call made outside a job: the CLI's calls to Resend
// take theirs from the limiter of the `resend` queue's workers, so together they stay within it.
import type { Queue } from "bullmq";
import type { RedisClient } from "./redis.ts";

/** What the `resend` queue's workers and the CLI's calls share: RESEND_API_RPS calls in each window of a second. */
export function resendLimiter(rps: number): { max: number; duration: number } {
  return { max: rps, duration: 1_000 };
}

/**
 * One slot, taken as BullMQ 6's moveToActive takes one for a job (includes/getRateLimitTTL.lua and
 * prepareJobForProcessing.lua): the queue's `limiter` key counts the slots of the window, which
 * ends `duration` ms after its first slot; a global rate limit set on the queue (meta `max`) wins
 * over the worker's `max`. Answers 0 when a slot was taken, else the ms until the window ends.
 * A counter at its max without an expiry would hold forever (BullMQ lets jobs through it and never
 * ends it): it is ended here.
 */
const TAKE_SLOT = `
local max = tonumber(redis.call("HGET", KEYS[2], "max") or ARGV[1])
if tonumber(redis.call("GET", KEYS[1]) or 0) >= max then
  local ttl = redis.call("PTTL", KEYS[1])
  if ttl > 0 then return ttl end
  redis.call("DEL", KEYS[1])
end
if redis.call("INCR", KEYS[1]) == 1 then redis.call("PEXPIRE", KEYS[1], ARGV[2]) end
return 0
`;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits until `queue`'s rate limiter (its workers' `limiter`) has a slot, and takes it. */
export function rateLimitSlot(
  redis: RedisClient,
  queue: Queue,
  { max, duration }: { max: number; duration: number },
): () => Promise<void> {
  return async () => {
    for (;;) {
      const waitMs = Number(await redis.eval(TAKE_SLOT, 2, queue.toKey("limiter"), queue.toKey("meta"), max, duration));
      if (waitMs <= 0) return;
      await sleep(waitMs);
    }
  };
}
