// Webhooks that arrive together: the API pipelines their enqueues to Redis (one write for the adds of
// one turn of the event loop), and the worker reconciles them in batches. Real API, worker, Redis
// and PostgreSQL; each burst is checked all the way to the event log.
import { Agent, request } from "node:http";
import {
  createHarness,
  findInboxEvent,
  inboxEvents,
  makeWorkload,
  signedWebhookHeaders,
  type Workload,
  type WorkloadEvent,
  waitUntil,
} from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MailstateHarness, mailstateSystem } from "./testing.ts";

interface Answer {
  svixId: string;
  status: number;
}

/** POST every event at once over `connections` keep-alive connections, as Resend's retries and bursts arrive. */
async function postAll(baseUrl: string, events: WorkloadEvent[], connections = 50, path = "/webhooks/resend") {
  const { port } = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  try {
    return await Promise.all(
      events.map(
        (event) =>
          new Promise<Answer>((resolve) => {
            const body = JSON.stringify(event.body);
            const req = request(
              {
                host: "127.0.0.1",
                port,
                path,
                method: "POST",
                agent,
                headers: signedWebhookHeaders(event.svixId, body),
              },
              (res) => {
                res.resume();
                res.on("end", () => resolve({ svixId: event.svixId, status: res.statusCode ?? 0 }));
              },
            );
            req.on("error", () => resolve({ svixId: event.svixId, status: 0 }));
            req.end(body);
          }),
      ),
    );
  } finally {
    agent.destroy();
  }
}

function countBy(answers: Answer[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const { status } of answers) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

/** Resend's retries: every delivery not answered 200 is posted again, with its svix-id, until each is. */
async function retryRefused(baseUrl: string, events: WorkloadEvent[], answers: Answer[], timeoutMs: number) {
  const refused = new Set(answers.filter((answer) => answer.status !== 200).map((answer) => answer.svixId));
  let retried: Answer[] = [];
  await waitUntil(
    "every refused webhook to be answered 200 on retry",
    async () => {
      retried = await postAll(
        baseUrl,
        events.filter((event) => refused.has(event.svixId)),
      );
      for (const answer of retried) if (answer.status === 200) refused.delete(answer.svixId);
      return refused.size === 0;
    },
    timeoutMs,
    { intervalMs: 250, detail: () => JSON.stringify(countBy(retried)) },
  );
}

async function recordAll(h: MailstateHarness, workload: Workload) {
  await h.db.notification.createMany({
    data: workload.notifications.map((n) => ({
      resendEmailId: n.emailId,
      recipients: n.recipients,
      from: "burst@acme.test",
      subject: "burst",
    })),
  });
}

/** How many times each svix-id is in the event log. */
async function loggedCounts(h: MailstateHarness, svixIds: string[]): Promise<Map<string, number>> {
  const { rows } = await h.sql.query<{ svix_id: string; n: number }>(
    "SELECT svix_id, count(*)::int AS n FROM event_log WHERE svix_id = ANY($1::text[]) GROUP BY svix_id",
    [svixIds],
  );
  return new Map(rows.map((row) => [row.svix_id, row.n]));
}

/** Notifications off the state and open count the workload says they reach. */
async function wrongStates(h: MailstateHarness, { expected }: Workload): Promise<string[]> {
  const rows = await h.db.notification.findMany({
    where: { resendEmailId: { in: [...expected.keys()] } },
    select: { resendEmailId: true, state: true, openCount: true },
  });
  const right = new Set(
    rows
      .filter((row) => {
        const want = expected.get(row.resendEmailId ?? "");
        return want?.state === row.state && want.opens === row.openCount;
      })
      .map((row) => row.resendEmailId),
  );
  return [...expected.keys()].filter((emailId) => !right.has(emailId));
}

/** Once the inbox drains: `count` svix-ids of the workload in the log, each exactly once, and every email in its state. */
async function expectEachLoggedOnce(h: MailstateHarness, workload: Workload, count: number, drainMs: number) {
  await h.drained(drainMs);
  const logged = await loggedCounts(
    h,
    workload.events.map((event) => event.svixId),
  );
  expect(logged.size).toBe(count);
  expect([...logged].filter(([, n]) => n !== 1)).toEqual([]);
  expect(await wrongStates(h, workload)).toEqual([]);
}

describe("a burst of webhooks, shared Redis", () => {
  let h: MailstateHarness;
  let baseUrl: string;

  beforeAll(async () => {
    h = await createHarness("api_burst", mailstateSystem);
    baseUrl = (await h.startApi()).baseUrl;
    await h.startWorker();
  });
  afterAll(async () => {
    await h?.close();
  });

  it("input: 400 distinct signed webhooks for 40 emails, all at once over 50 connections → 400 × 200, each logged once, every email in its state", async () => {
    const workload = makeWorkload({ notifications: 40, eventsPerNotification: 10, label: "burst" });
    await recordAll(h, workload);
    const answers = await postAll(baseUrl, workload.events);
    expect(countBy(answers)).toEqual({ 200: 400 });

    await expectEachLoggedOnce(h, workload, 400, 30_000);
  });

  it("input: one svix-id posted 25 times at once, beside 25 other webhooks → 50 × 200, one row in the log, no job left", async () => {
    const workload = makeWorkload({ notifications: 5, eventsPerNotification: 10, label: "dupburst" });
    await recordAll(h, workload);
    const [repeated, ...others] = workload.events;
    if (!repeated) throw new Error("empty workload");
    const burst = [...Array.from({ length: 25 }, () => repeated), ...others.slice(0, 25)];
    const answers = await postAll(baseUrl, burst);
    expect(countBy(answers)).toEqual({ 200: 50 });

    await h.drained(30_000);
    const logged = await loggedCounts(h, [repeated.svixId]);
    expect(logged.get(repeated.svixId)).toBe(1);
    // Completed inbox jobs leave Redis at once: no copy of it is left behind in any job.
    expect(await findInboxEvent(h.queues.inbox, repeated.svixId)).toEqual([]);
  });

  it("input: the same webhook at /webhooks/resend/ and /webhooks/resend?via=proxy (express's route, not the server's exact match) → 200 queued, one row", async () => {
    const workload = makeWorkload({ notifications: 1, eventsPerNotification: 2, label: "spelled" });
    await recordAll(h, workload);
    const [first, second] = workload.events;
    if (!first || !second) throw new Error("empty workload");
    expect(countBy(await postAll(baseUrl, [first], 1, "/webhooks/resend/"))).toEqual({ 200: 1 });
    expect(countBy(await postAll(baseUrl, [second, first], 1, "/webhooks/resend?via=proxy"))).toEqual({ 200: 2 });
    await h.drained(30_000);
    const logged = await loggedCounts(h, [first.svixId, second.svixId]);
    expect(Object.fromEntries(logged)).toEqual({ [first.svixId]: 1, [second.svixId]: 1 });
  });

  it("input: GET /webhooks/resend and a gzip-encoded signed webhook → 404 not-found and 400 webhook-body-invalid", async () => {
    expect((await fetch(`${baseUrl}/webhooks/resend`)).status).toBe(404);
    const body = JSON.stringify({ type: "email.sent", data: {} });
    const answer = await fetch(`${baseUrl}/webhooks/resend`, {
      method: "POST",
      headers: { ...signedWebhookHeaders("msg_gzipped", body), "content-encoding": "gzip" },
      body,
    });
    expect(answer.status).toBe(400);
    expect(((await answer.json()) as { type: string }).type).toBe(
      "https://mailstate.dev/problems/webhook-body-invalid",
    );
  });
});

describe("a burst of webhooks while Redis dies (its own Redis, AOF fsynced on every write)", () => {
  let h: MailstateHarness;
  let baseUrl: string;

  beforeAll(async () => {
    h = await createHarness("api_burst_redis", mailstateSystem, { ownServers: { redis: true } });
    baseUrl = (await h.startApi({ WEBHOOK_ENQUEUE_TIMEOUT_MS: "1000" })).baseUrl;
  });
  afterAll(async () => {
    await h?.close();
  });

  it("input: 600 webhooks at once, Redis killed mid-burst then restarted, every 503 retried → each answered 200 or 503, then all 200; the worker logs every one exactly once", async () => {
    const redis = h.servers.redis;
    if (!redis) throw new Error("no Redis of the test's own");
    const workload = makeWorkload({ notifications: 60, eventsPerNotification: 10, label: "redisdies" });
    await recordAll(h, workload);

    const burst = postAll(baseUrl, workload.events);
    // Kill it while the adds are in flight: some have their answer, some are in a pipeline, some not yet sent.
    await waitUntil("the burst's first jobs to reach Redis", async () => (await h.queues.inbox.count()) > 0, 10_000, {
      intervalMs: 1,
    });
    await redis.kill();
    const answers = await burst;
    const statuses = countBy(answers);
    expect(Object.keys(statuses).filter((status) => status !== "200" && status !== "503")).toEqual([]);
    expect(statuses[503] ?? 0).toBeGreaterThan(0);

    await redis.start();
    // What was answered 200 was in Redis's AOF: it is all there after the restart.
    const acknowledged = answers.filter((answer) => answer.status === 200).map((answer) => answer.svixId);
    await waitUntil("Redis to answer the test again", async () => (await h.redis.ping()) === "PONG", 15_000);
    const held = new Set((await inboxEvents(h.queues.inbox)).map(({ event }) => event.svixId));
    expect(acknowledged.filter((svixId) => !held.has(svixId))).toEqual([]);

    // Resend retries every delivery that was not answered 200, with the same svix-id.
    await retryRefused(baseUrl, workload.events, answers, 20_000);

    await h.startWorker();
    await expectEachLoggedOnce(h, workload, 600, 60_000);
  });
});

describe("Redis at its memory limit (noeviction), the worker paused, then resumed", () => {
  let h: MailstateHarness;
  let baseUrl: string;

  beforeAll(async () => {
    h = await createHarness("api_burst_oom", mailstateSystem, { ownServers: { redis: true } });
    baseUrl = (await h.startApi({ WEBHOOK_ENQUEUE_TIMEOUT_MS: "1000", WEBHOOK_REDIS_MEMORY_MAX_PERCENT: "50" }))
      .baseUrl;
  });
  afterAll(async () => {
    await h?.close();
  });

  it("input: maxmemory 4 MB above what Redis holds, WEBHOOK_REDIS_MEMORY_MAX_PERCENT=50 (room for the worker's scripts and connections at this small scale), 4,000 webhooks in waves of 50 with no worker → each 200 or 503 (never 500), refused from 50% of maxmemory so Redis never reaches it; /readyz 503 naming it; the memory gauges; then the worker runs → it drains, every 503 resent is accepted, all 4,000 logged once", async () => {
    const workload = makeWorkload({ notifications: 400, eventsPerNotification: 10, label: "oom" });
    await recordAll(h, workload);
    const memory = async () => {
      const info = await h.redis.info("memory");
      const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, "m").exec(info)?.[1]);
      return { used: field("used_memory"), max: field("maxmemory") };
    };
    const limit = (await memory()).used + 4_000_000;
    await h.redis.config("SET", "maxmemory", String(limit));

    const started = performance.now();
    const answers: Answer[] = [];
    let peak = 0;
    for (let wave = 0; wave < workload.events.length; wave += 50) {
      answers.push(...(await postAll(baseUrl, workload.events.slice(wave, wave + 50))));
      peak = Math.max(peak, (await memory()).used);
    }
    const seconds = (performance.now() - started) / 1_000;
    const statuses = countBy(answers);
    console.log(
      `REDIS FULL: ${JSON.stringify(statuses)} in ${seconds.toFixed(1)} s, peak ${((peak / limit) * 100).toFixed(1)}% of maxmemory`,
    );
    expect(Object.keys(statuses).filter((status) => status !== "200" && status !== "503")).toEqual([]);
    expect(statuses[503] ?? 0).toBeGreaterThan(0);
    // Redis itself never refused a write: the worker keeps the room to drain.
    expect(peak).toBeLessThan(limit);

    const ready = await fetch(`${baseUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { inbox: string }).inbox).toMatch(
      /^not writable: Redis \S+ holds \d+% of its maxmemory, past 50%/,
    );
    const metrics = await (await fetch(`${baseUrl}/metrics`)).text();
    const gauge = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(metrics)?.[1]);
    expect(gauge("mailstate_redis_maxmemory_bytes")).toBe(limit);
    expect(gauge("mailstate_redis_memory_used_bytes") / limit).toBeGreaterThan(0.45);

    // The worker drains what was accepted: memory frees, and Resend's retries of the 503s go in.
    await h.startWorker();
    await retryRefused(baseUrl, workload.events, answers, 60_000);
    await expectEachLoggedOnce(h, workload, 4_000, 60_000);
  });
});
