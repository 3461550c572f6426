// A slot of a queue's rate limiter taken outside a job, against real Redis (a key prefix of its
// own) and a real BullMQ Worker: the slots the CLI takes are slots the worker does not get.
import { randomBytes } from "node:crypto";
import { Queue, Worker } from "bullmq";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { rateLimitSlot } from "./rate-limit.ts";
import { createRedis, type RedisClient } from "./redis.ts";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const LIMITER = { max: 3, duration: 1_000 };
let redis: RedisClient;
let queue: Queue;

beforeAll(() => {
  redis = createRedis(REDIS_URL, "worker");
});
afterEach(async () => {
  await queue.obliterate({ force: true });
  await queue.close();
});
afterAll(() => {
  redis.disconnect();
});

function newQueue(): Queue {
  queue = new Queue("resend", { connection: redis, prefix: `{rate-limit-test-${randomBytes(4).toString("hex")}}` });
  return queue;
}

const counter = async () => ({
  slots: Number(await redis.get(queue.toKey("limiter"))),
  ttl: await redis.pttl(queue.toKey("limiter")),
});

describe("rateLimitSlot", () => {
  it("input: max 3 a second, 4 slots taken → the first 3 at once in one window (the queue's limiter key, expiring within 1 s); the 4th once that window ended, opening the next", async () => {
    const take = rateLimitSlot(redis, newQueue(), LIMITER);
    const started = Date.now();
    await take();
    await take();
    await take();
    expect(Date.now() - started).toBeLessThan(500);
    const full = await counter();
    expect(full.slots).toBe(3);
    expect(full.ttl).toBeGreaterThan(0);
    expect(full.ttl).toBeLessThanOrEqual(1_000);
    await take();
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000 - 20);
    expect((await counter()).slots).toBe(1);
  });

  it("input: 3 slots taken, then a job added to a BullMQ Worker with the same limiter → the job starts only after the window the slots filled", async () => {
    const take = rateLimitSlot(redis, newQueue(), LIMITER);
    for (let slot = 0; slot < 3; slot += 1) await take();
    const windowEnds = Date.now() + (await counter()).ttl;
    let startedAt = 0;
    let done: () => void = () => {};
    const processed = new Promise<void>((resolve) => {
      done = resolve;
    });
    const connection = createRedis(REDIS_URL, "worker");
    const worker = new Worker(
      "resend",
      async () => {
        startedAt = Date.now();
        done();
      },
      { connection, prefix: queue.opts.prefix ?? "", limiter: LIMITER },
    );
    await queue.add("probe", {});
    await processed;
    await worker.close();
    connection.disconnect();
    expect(startedAt).toBeGreaterThanOrEqual(windowEnds - 20);
    // The job took a slot of the next window, as BullMQ does.
    expect((await counter()).slots).toBe(1);
  });

  it("input: a global rate limit of 1 set on the queue (meta max) → it wins over max 3: the second slot waits for the next window", async () => {
    const take = rateLimitSlot(redis, newQueue(), LIMITER);
    await queue.setGlobalRateLimit(1, 1_000);
    const started = Date.now();
    await take();
    await take();
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000 - 20);
  });

  it("input: a counter at its max with no expiry (which would hold for good) → the slot is taken at once, in a new window that expires", async () => {
    const take = rateLimitSlot(redis, newQueue(), LIMITER);
    await redis.set(queue.toKey("limiter"), "3");
    await take();
    const fresh = await counter();
    expect(fresh.slots).toBe(1);
    expect(fresh.ttl).toBeGreaterThan(0);
  });
});
