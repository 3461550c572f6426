// The inbox's producer side against real Redis (a key prefix of its own): one job per micro-batch per shard.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JOBS } from "./catalog.ts";
import {
  addInboxBatch,
  createInboxWriter,
  describeInboxBatch,
  describeInboxEvent,
  INBOX_BATCH_MAX,
  inboxBatchEvents,
} from "./inbox.ts";
import { createQueues, type Queues } from "./queues.ts";
import { createRedis, type RedisClient } from "./redis.ts";
import { inboxShardOfPayload } from "./shards.ts";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
let redis: RedisClient;
const opened: Queues[] = [];

function layout(shards: number): Queues {
  const queues = createQueues(redis, `{inbox-test-${randomBytes(4).toString("hex")}}`, {}, { inboxShards: shards });
  opened.push(queues);
  return queues;
}

const payload = (i: number, emailId = `re_${i % 7}`) => ({
  svixId: `msg_${i}`,
  receivedAt: new Date().toISOString(),
  event: { type: i % 2 ? "email.delivered" : "email.opened", data: { email_id: emailId } },
});

/** Every job of every shard, with the svix-ids it holds. */
async function jobsOf(queues: Queues) {
  const perShard = await Promise.all(
    queues.inboxShards.map(async (queue, shard) =>
      (await queue.getJobs(["waiting"], 0, -1)).map((job) => ({
        shard,
        id: job.id,
        name: job.name,
        attempts: job.opts.attempts,
        svixIds: (inboxBatchEvents(job) ?? []).map((event) => (event as { svixId: string }).svixId),
      })),
    ),
  );
  return perShard.flat();
}

beforeAll(() => {
  redis = createRedis(REDIS_URL, "worker");
});
afterAll(async () => {
  for (const queues of opened) {
    await Promise.all(queues.inboxShards.map((queue) => queue.obliterate({ force: true })));
    await queues.close();
  }
  redis.disconnect();
});

describe("addInboxBatch", () => {
  it("input: 40 webhooks, one shard → one inbox.batch job holding all 40 in order, the catalog's retries, every payload answered that job's id", async () => {
    const queues = layout(1);
    const payloads = Array.from({ length: 40 }, (_, i) => payload(i));
    const ids = await addInboxBatch(queues, payloads);
    const jobs = await jobsOf(queues);
    expect(jobs).toEqual([
      {
        shard: 0,
        id: ids[0],
        name: "inbox.batch",
        attempts: JOBS["inbox.batch"].options.attempts,
        svixIds: payloads.map((p) => p.svixId),
      },
    ]);
    expect(new Set(ids)).toEqual(new Set([jobs[0]?.id]));
  });

  it("input: 30 webhooks of 7 email ids, three shards → one job per shard they hash to, each holding exactly that shard's events", async () => {
    const queues = layout(3);
    const payloads = Array.from({ length: 30 }, (_, i) => payload(i));
    const ids = await addInboxBatch(queues, payloads);
    const jobs = await jobsOf(queues);
    const shards = new Set(payloads.map((p) => inboxShardOfPayload(p, 3)));
    expect(jobs.map((job) => job.shard).sort()).toEqual([...shards].sort());
    for (const job of jobs) {
      expect(job.svixIds).toEqual(payloads.filter((p) => inboxShardOfPayload(p, 3) === job.shard).map((p) => p.svixId));
    }
    payloads.forEach((p, i) => {
      expect(jobs.find((job) => job.id === ids[i])?.svixIds).toContain(p.svixId);
    });
  });

  it("input: the same svix-id twice (a redelivery) → two copies, each in the job of its own batch: PostgreSQL dedupes, not Redis", async () => {
    const queues = layout(1);
    await addInboxBatch(queues, [payload(1)]);
    await addInboxBatch(queues, [payload(1)]);
    expect((await jobsOf(queues)).map((job) => job.svixIds)).toEqual([["msg_1"], ["msg_1"]]);
  });
});

describe("createInboxWriter", () => {
  it(`input: 100 webhooks submitted at one moment → two jobs, of ${INBOX_BATCH_MAX} and 36 (the most one job holds)`, async () => {
    const queues = layout(1);
    const writer = createInboxWriter(queues, { maxWaitMs: 20 });
    const ids = await Promise.all(Array.from({ length: 100 }, (_, i) => writer.submit(payload(i))));
    const jobs = await jobsOf(queues);
    expect(jobs.map((job) => job.svixIds.length).sort((a, b) => b - a)).toEqual([INBOX_BATCH_MAX, 36]);
    expect(new Set(ids).size).toBe(2);
  });

  it("input: Redis refuses the write (a queue whose connection is closed) → every webhook of the batch is rejected, none answered a job id", async () => {
    const closed = createRedis(REDIS_URL, "producer");
    const queues = createQueues(closed, `{inbox-test-${randomBytes(4).toString("hex")}}`, { skipVersionCheck: true });
    closed.disconnect();
    const writer = createInboxWriter(queues, { maxWaitMs: 1 });
    const answers = await Promise.allSettled([writer.submit(payload(1)), writer.submit(payload(2))]);
    expect(answers.map((answer) => answer.status)).toEqual(["rejected", "rejected"]);
    await queues.close().catch(() => undefined);
  });
});

describe("what Bull Board shows of a batch job", () => {
  it("input: a batch of a delivery, two opens and an event with no type or email id → its name counts them by type; each event reads type · email id · svix-id, '?' where a field is missing or not text", () => {
    const events = [
      payload(1, "re_a"),
      payload(2, "re_a"),
      payload(4, "re_b"),
      { svixId: "msg_odd", event: { data: { email_id: 42 } } },
    ];
    expect(describeInboxBatch({ events })).toBe("inbox.batch: 4 events (1 delivered, 2 opened, 1 ?)");
    expect(events.map(describeInboxEvent)).toEqual([
      "email.delivered · re_a · msg_1",
      "email.opened · re_a · msg_2",
      "email.opened · re_b · msg_4",
      "? · ? · msg_odd",
    ]);
    expect(describeInboxBatch({ events: "nope" })).toBe("inbox.batch (unreadable)");
    expect(describeInboxEvent(null)).toBe("? · ? · ?");
  });
});
