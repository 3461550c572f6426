// The system on a real three-master Redis Cluster (Debian's redis-server in cluster mode, started
// for this file): REDIS_CLUSTER_NODES seeded with one node that owns no inbox shard's slot,
// INBOX_SHARDS=3. Record, ingest, reconcile, park and replay, dedup, a worker SIGKILLed, a master
// killed and restarted: nothing lost.
import { randomBytes, randomUUID } from "node:crypto";
import { type MailstateStack, mailstateSystem } from "@mailstate/api/testing";
import { addInboxBatch, createQueues, inboxShard, inboxShardIndex, recordInboxLayout } from "@mailstate/queue";
import {
  basicAuth,
  findInboxEvent,
  inboxEvents,
  newSvixId,
  OPS_ENV,
  type RedisClusterServers,
  type RedisServer,
  resendEvent,
  signedWebhookHeaders,
  startRedisCluster,
  startStack,
  waitUntil,
} from "@mailstate/test-support";
import { runMailstate } from "@mailstate/worker/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const SHARDS = 3;

let cluster: RedisClusterServers;
let stack: MailstateStack;
/** The node REDIS_URL and REDIS_CLUSTER_NODES name: it owns none of the shards' slots. */
let seed: RedisServer;
let prefix: string;
/** The worker started in this process (closed before the tests that run worker processes). */
let inProcess: { close(): Promise<void> } | undefined;

/**
 * A hash-tagged prefix whose shards sit on three different slots, all served by nodes other than
 * one (the seed): every command of the inbox reaches its node through a redirect from the seed.
 */
function pickLayout(): { prefix: string; seed: RedisServer } {
  for (let attempt = 0; attempt < 500; attempt += 1) {
    const candidate = `{mailstate-test-cl-${randomBytes(4).toString("hex")}}`;
    const slots = Array.from({ length: SHARDS }, (_, i) =>
      cluster.slotOf(`${inboxShard(candidate, SHARDS, i).prefix}:x`),
    );
    if (new Set(slots).size !== SHARDS) continue;
    const owners = new Set(slots.map((slot) => cluster.ownerOf(slot).port));
    const free = cluster.nodes.find((node) => !owners.has(node.port));
    if (free) return { prefix: candidate, seed: free };
  }
  throw new Error("no prefix leaves a node without a shard in 500 tries");
}

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  ({ prefix, seed } = pickLayout());
  stack = await startStack("e2e_cluster", mailstateSystem, {
    env: {
      REDIS_URL: seed.url,
      REDIS_CLUSTER_NODES: `127.0.0.1:${seed.port}`,
      INBOX_SHARDS: String(SHARDS),
      QUEUE_PREFIX: prefix,
      ...OPS_ENV,
    },
  });
}, 60_000);
afterAll(async () => {
  // The cluster's servers go even when closing the stack fails.
  try {
    await stack?.close();
  } finally {
    await cluster?.destroy();
  }
});

/** POST a signed webhook; answers its status (503 is an answer here, not an error). */
async function post(event: object, svixId = newSvixId()): Promise<{ svixId: string; status: number }> {
  const body = JSON.stringify(event);
  const response = await fetch(`${stack.baseUrl}/webhooks/resend`, {
    method: "POST",
    headers: signedWebhookHeaders(svixId, body),
    body,
  });
  await response.arrayBuffer();
  return { svixId, status: response.status };
}

async function record(emailId: string, to: string): Promise<string> {
  const answer = await stack.call("POST", "/v1/notifications", {
    to: [to],
    from: "hello@acme.test",
    subject: "Cluster",
    resendEmailId: emailId,
  });
  expect(answer.status).toBe(201);
  return answer.body.notification.id;
}

async function stateOf(id: string): Promise<string> {
  return (await stack.call("GET", `/v1/notifications/${id}`)).body.state;
}

async function loggedCount(svixIds: string[]): Promise<number> {
  const { rows } = await stack.sql.query<{ n: string }>("SELECT count(*) AS n FROM event_log WHERE svix_id = ANY($1)", [
    svixIds,
  ]);
  return Number(rows[0]?.n ?? 0);
}

const shardOf = (emailId: string) => inboxShardIndex(emailId, SHARDS);
/** An email id (`prefix` and a random UUID) whose inbox shard is `shard`: ids are drawn until one is. */
function emailIdOnShard(prefix: string, shard: number): string {
  for (;;) {
    const emailId = `${prefix}${randomUUID()}`;
    if (shardOf(emailId) === shard) return emailId;
  }
}

describe("on a three-master Redis Cluster, INBOX_SHARDS=3, seeded with a node that owns no shard", () => {
  it("input: GET /readyz → 200 ready, inbox writable; the three shards are queues inbox-0..2 on three slots, none on the seed node", async () => {
    // Not ready until the cluster client has read the slot map (it says so meanwhile).
    const answer = await waitUntil(
      "/readyz to answer 200",
      async () => {
        const ready = await stack.call("GET", "/readyz");
        return ready.status === 200 ? ready : undefined;
      },
      10_000,
    );
    expect(answer.body).toMatchObject({ status: "ready", redis: "up", inbox: "writable" });
    expect(stack.queues.inboxShards.map((queue) => queue.name)).toEqual(["inbox-0", "inbox-1", "inbox-2"]);
    const slots = stack.queues.inboxShards.map((queue) => cluster.slotOf(`${queue.opts.prefix}:x`));
    expect(new Set(slots).size).toBe(3);
    for (const slot of slots) expect(cluster.ownerOf(slot).port).not.toBe(seed.port);
    // The default prefix's three shards, {mailstate-inbox-0..2}: slots 3402, 7531 and 11528, one on
    // each master of the even split `redis-cli --cluster create` makes.
    const defaults = [0, 1, 2].map((i) => cluster.slotOf(`${inboxShard("{mailstate}", 3, i).prefix}:x`));
    expect(defaults).toEqual([3402, 7531, 11528]);
    expect(new Set(defaults.map((slot) => cluster.ownerOf(slot).port)).size).toBe(3);
  });

  it("input: a plain REDIS_URL client (no REDIS_CLUSTER_NODES) on the seed node → /readyz 503, inbox not writable: MOVED; a webhook → 503", async () => {
    const plain = await stack.startApi({ REDIS_CLUSTER_NODES: "" });
    try {
      // Once connected (before, the probe fails for want of a connection): the node redirects.
      const answer = await waitUntil(
        "/readyz of the plain client to name the redirect",
        async () => {
          const ready = await plain.call("GET", "/readyz");
          return /MOVED/.test(ready.body.inbox) ? ready : undefined;
        },
        10_000,
      );
      expect(answer.status).toBe(503);
      expect(answer.body.inbox).toMatch(/not writable: MOVED \d+ 127\.0\.0\.1:\d+/);
      const body = JSON.stringify(resendEvent("email.sent", "re_plain", 1, "plain@cluster.test"));
      const webhook = await fetch(`${plain.baseUrl}/webhooks/resend`, {
        method: "POST",
        headers: signedWebhookHeaders(newSvixId(), body),
        body,
      });
      expect(webhook.status).toBe(503);
    } finally {
      await plain.close();
    }
  });

  it("input: 12 emails recorded, sent+delivered posted before any worker runs, one redelivered → every job in its email's shard (all 3 used), the redelivery one job; a worker then logs 24 events once each, all delivered", async () => {
    // Four email ids for each shard, so every shard is used.
    const emails = Array.from({ length: 12 }, (_, i) => ({
      emailId: emailIdOnShard("re_cl_", i % SHARDS),
      to: `u${i}@cluster.test`,
    }));
    const ids = await Promise.all(emails.map(({ emailId, to }) => record(emailId, to)));
    const posted: { svixId: string; emailId: string }[] = [];
    for (const { emailId, to } of emails) {
      for (const [second, type] of [
        [1, "email.sent"],
        [2, "email.delivered"],
      ] as const) {
        const { svixId, status } = await post(resendEvent(type, emailId, second, to));
        expect(status).toBe(200);
        posted.push({ svixId, emailId });
      }
    }
    // Resend retries the first one with the same svix-id: 200, in a batch of its own (PostgreSQL dedupes it).
    const first = posted[0] as { svixId: string; emailId: string };
    const firstEmail = emails[0] as { emailId: string; to: string };
    expect((await post(resendEvent("email.sent", firstEmail.emailId, 1, firstEmail.to), first.svixId)).status).toBe(
      200,
    );

    for (const { svixId, emailId } of posted) {
      const shards = await Promise.all(
        stack.queues.inboxShards.map(async (queue) => (await findInboxEvent(queue, svixId)).length > 0),
      );
      expect(shards.map((has, i) => (has ? i : -1)).filter((i) => i >= 0)).toEqual([shardOf(emailId)]);
    }
    expect(new Set(emails.map(({ emailId }) => shardOf(emailId))).size).toBe(3);
    const held = await Promise.all(stack.queues.inboxShards.map(async (queue) => (await inboxEvents(queue)).length));
    expect(held.reduce((sum, n) => sum + n, 0)).toBe(25);

    inProcess = await stack.startWorker();
    await stack.drained(20_000);
    expect(await loggedCount(posted.map(({ svixId }) => svixId))).toBe(24);
    expect(await Promise.all(ids.map(stateOf))).toEqual(ids.map(() => "delivered"));
  });

  it("input: events of an unknown email id, then the send recorded → parked in unmatched, then replayed: delivered, 2 events on its timeline", async () => {
    const emailId = `re_cl_late_${randomUUID()}`;
    const to = "late@cluster.test";
    inProcess ??= await stack.startWorker();
    expect((await post(resendEvent("email.sent", emailId, 1, to))).status).toBe(200);
    expect((await post(resendEvent("email.delivered", emailId, 2, to))).status).toBe(200);
    await waitUntil("the email id to be parked", async () => (await stack.queues.unmatched.count()) > 0, 10_000);
    const id = await record(emailId, to);
    await waitUntil("the parked events to replay", async () => (await stateOf(id)) === "delivered", 15_000);
    const timeline = await stack.call("GET", `/v1/notifications/${id}/timeline`);
    expect(timeline.body.events.map((event: { type: string }) => event.type)).toEqual([
      "email.sent",
      "email.delivered",
    ]);
  });

  it("input: 300 events fed while the worker process is SIGKILLed and started again → all 300 logged once, no job failed", async () => {
    const emails = Array.from({ length: 100 }, (_, i) => ({
      emailId: `re_cl_kill_${i}_${randomUUID()}`,
      to: `k${i}@cluster.test`,
    }));
    await Promise.all(emails.map(({ emailId, to }) => record(emailId, to)));
    const events = emails.flatMap(({ emailId, to }) =>
      (["email.sent", "email.delivered", "email.opened"] as const).map((type, i) => ({
        svixId: newSvixId(),
        body: resendEvent(type, emailId, i + 1, to),
      })),
    );
    // The worker processes below are the only consumers.
    await inProcess?.close();
    let worker = stack.spawnWorker({ WORKER_LOCK_DURATION_MS: "2000" });
    await worker.waitFor(/worker ready/, 30_000);
    await stack.deliverAll(events.slice(0, 150));
    // Killed once it has begun applying them, with jobs in hand or still waiting.
    const ids = events.map(({ svixId }) => svixId);
    await waitUntil("the worker to log its first events", async () => (await loggedCount(ids)) > 0, 20_000);
    await worker.stop("SIGKILL");
    await stack.deliverAll(events.slice(150));
    worker = stack.spawnWorker({ WORKER_LOCK_DURATION_MS: "2000" });
    await stack.drained(60_000, worker);
    expect(await loggedCount(events.map(({ svixId }) => svixId))).toBe(300);
    const failed = await Promise.all(
      stack.queues.inboxShards.map(async (queue) => (await queue.getJobCounts("failed")).failed),
    );
    expect(failed).toEqual([0, 0, 0]);
    // What ops see: Bull Board lists every shard; `mailstate stats` counts each, all drained.
    const board = await fetch(`${stack.baseUrl}/admin/queues/api/queues?activeQueue=inbox-0&page=1`, {
      headers: { authorization: basicAuth() },
    });
    expect(board.status).toBe(200);
    const shown = ((await board.json()) as { queues: { name: string }[] }).queues.map((queue) => queue.name);
    expect(shown).toEqual(expect.arrayContaining(["inbox-0", "inbox-1", "inbox-2", "unmatched", "maintenance"]));
    const metrics = await (await fetch(`${stack.baseUrl}/metrics`)).text();
    for (const shard of ["inbox-0", "inbox-1", "inbox-2"])
      expect(metrics).toMatch(new RegExp(`mailstate_queue_jobs\\{queue="${shard}",state="waiting"\\} 0`));
    const stats = await runMailstate(stack, "stats", "--json");
    expect(stats.code, stats.stderr).toBe(0);
    const parsed = JSON.parse(stats.stdout) as { inboxShards: Record<string, { waiting: number; failed: number }> };
    expect(Object.keys(parsed.inboxShards)).toEqual(["inbox-0", "inbox-1", "inbox-2"]);
    for (const counts of Object.values(parsed.inboxShards)) expect([counts.waiting, counts.failed]).toEqual([0, 0]);
    await worker.stop("SIGTERM");
  }, 90_000);

  it("input: 20 events left in the one `inbox` of INBOX_SHARDS=1, then a worker with INBOX_SHARDS=3 → the old queue drains too: 20 logged, `stats` lists it empty", async () => {
    const emails = Array.from({ length: 10 }, (_, i) => ({
      emailId: `re_cl_old_${i}_${randomUUID()}`,
      to: `o${i}@cluster.test`,
    }));
    await Promise.all(emails.map(({ emailId, to }) => record(emailId, to)));
    // What an API with INBOX_SHARDS=1 did before the change: recorded its layout, wrote to `inbox`.
    const old = createQueues(stack.redis, prefix, { skipVersionCheck: true }, { inboxShards: 1 });
    const svixIds: string[] = [];
    try {
      await recordInboxLayout(stack.redis, prefix, 1);
      const payloads = emails.flatMap(({ emailId, to }) =>
        [1, 2].map((second) => {
          const svixId = newSvixId();
          svixIds.push(svixId);
          return {
            svixId,
            receivedAt: new Date().toISOString(),
            event: resendEvent("email.sent", emailId, second, to),
          };
        }),
      );
      await addInboxBatch(old, payloads);
      expect(old.inbox.name).toBe("inbox");
      expect((await old.inbox.getJobCounts("waiting")).waiting).toBe(1);
      expect((await inboxEvents(old.inbox)).length).toBe(20);
      const worker = stack.spawnWorker();
      await waitUntil(
        "the 20 events of the old inbox to be logged",
        async () => (await loggedCount(svixIds)) === 20,
        30_000,
        {
          detail: () => worker.output().slice(-2_000),
        },
      );
      await waitUntil(
        "the old inbox to be empty",
        async () => (await old.inbox.getJobCounts("waiting", "active", "delayed")).waiting === 0,
        10_000,
      );
      expect(await loggedCount(svixIds)).toBe(20);
      // The worker logs "worker ready" (with its inbox queues) after its queue workers have started:
      // on a busy box they may have logged the 20 events before that line is written.
      await worker.waitFor(/"inbox":\["inbox","inbox-0","inbox-1","inbox-2"\]/, 10_000);
      const stats = await runMailstate(stack, "stats", "--json");
      const parsed = JSON.parse(stats.stdout) as { inboxShards: Record<string, { waiting: number }> };
      expect(Object.keys(parsed.inboxShards)).toEqual(["inbox", "inbox-0", "inbox-1", "inbox-2"]);
      expect(parsed.inboxShards.inbox?.waiting).toBe(0);
      await worker.stop("SIGTERM");
    } finally {
      await old.close();
    }
  }, 90_000);

  it("input: the master of shard 0 SIGKILLed with jobs on it, then started again → webhooks 503 and /readyz 503 while its slots are down; after: ready, the refused ones accepted on retry, 0 of 60 lost", async () => {
    const shard0 = stack.queues.inboxShards[0];
    if (!shard0) throw new Error("no shard 0");
    const victim = cluster.ownerOf(cluster.slotOf(`${shard0.opts.prefix}:x`));
    // Email i on shard i % 3: the ten posted before the kill have four on the victim's shard (drawn
    // at random, all ten missed it once in about sixty runs).
    const emails = Array.from({ length: 20 }, (_, i) => ({
      emailId: emailIdOnShard(`re_cl_down_${i}_`, i % SHARDS),
      to: `d${i}@cluster.test`,
    }));
    await Promise.all(emails.map(({ emailId, to }) => record(emailId, to)));
    const before = emails.slice(0, 10).flatMap(({ emailId, to }) =>
      [1, 2, 3].map((second) => ({
        event: resendEvent("email.sent", emailId, second, to),
        svixId: newSvixId(),
        emailId,
      })),
    );
    const during = emails.slice(10).flatMap(({ emailId, to }) =>
      [1, 2, 3].map((second) => ({
        event: resendEvent("email.delivered", emailId, second, to),
        svixId: newSvixId(),
        emailId,
      })),
    );
    // No worker runs: the jobs accepted before the kill wait in Redis, some on the victim.
    for (const one of before) expect((await post(one.event, one.svixId)).status).toBe(200);
    expect(before.some(({ emailId }) => shardOf(emailId) === 0)).toBe(true);

    await victim.kill();
    await cluster.waitForState("fail", 15_000);
    // Side by side, as Resend delivers: each waits at most WEBHOOK_ENQUEUE_TIMEOUT_MS for Redis.
    const answers = await Promise.all(during.map((one) => post(one.event, one.svixId)));
    const refused = during.filter((_, i) => answers[i]?.status === 503);
    expect(answers.filter(({ status }) => status !== 200 && status !== 503)).toEqual([]);
    // The cluster lost a master's slots: it takes no write at all (cluster-require-full-coverage).
    expect(refused.length).toBe(during.length);
    const down = await stack.call("GET", "/readyz");
    expect(down.status).toBe(503);
    expect(down.body.inbox).toMatch(/not writable/);

    await victim.start();
    await cluster.waitForState("ok", 20_000);
    await waitUntil(
      "/readyz to answer 200 again",
      async () => (await stack.call("GET", "/readyz")).status === 200,
      20_000,
    );
    // Resend retries what was refused, with the same svix-ids.
    for (const one of refused) {
      await waitUntil(
        `the retry of ${one.svixId} to be accepted`,
        async () => (await post(one.event, one.svixId)).status === 200,
        10_000,
      );
    }
    const worker = stack.spawnWorker();
    await stack.drained(30_000, worker);
    const all = [...before, ...during].map(({ svixId }) => svixId);
    expect(await loggedCount(all)).toBe(60);
    await worker.stop("SIGTERM");
  }, 90_000);
});
