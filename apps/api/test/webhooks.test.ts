// POST /webhooks/resend against the running app, real Redis (own prefix) and a test database.

import { JOBS, type Queues } from "@mailstate/queue";
import type { Logger } from "@mailstate/runtime";
import {
  createHarness,
  findInboxEvent,
  freePort,
  inboxEvents,
  type Spawned,
  spawnProcess,
  testRedisUrl,
  waitUntil,
} from "@mailstate/test-support";
import { pinoHttp } from "pino-http";
import { Webhook } from "svix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MailstateHarness, mailstateSystem } from "./testing.ts";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const OLD_SECRET = "whsec_b2xkLXNlY3JldC1mb3Itcm90YXRpb24=";
const WRONG_SECRET = "whsec_d3Jvbmctc2VjcmV0LW5vdC1jb25maWd1cmVk";

let sequence = 0;
const nextId = () => `msg_test${Date.now().toString(36)}${(sequence++).toString(36)}`;

function event(type = "email.delivered") {
  return {
    type,
    created_at: "2026-11-22T10:00:00.894719+00:00",
    data: { email_id: "4ef9a417-02e9-4d39-ad75-9611e0fcc33c", to: ["a@example.com"], subject: "Hi" },
  };
}

interface Signed {
  id: string;
  body: string;
  headers: Record<string, string>;
}

function sign(body: string, { secret = SECRET, id = nextId(), at = new Date() } = {}): Signed {
  const signature = new Webhook(secret).sign(id, at, body);
  return {
    id,
    body,
    headers: {
      "content-type": "application/json",
      "svix-id": id,
      "svix-timestamp": String(Math.floor(at.getTime() / 1_000)),
      "svix-signature": signature,
    },
  };
}

/** A log sink: the pino logger of a pino-http instance writing into memory. */
function memoryLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const { logger } = pinoHttp({ level: "info" }, { write: (line: string) => lines.push(line) });
  return { logger: logger as unknown as Logger, lines };
}

interface Running {
  baseUrl: string;
  queues: Queues;
  lines: string[];
  close(): Promise<void>;
}

/** The API in this process on the harness's database and prefix, a Redis of the test's choosing, logging into memory. */
async function startApi(redisUrl: string, extraEnv: Record<string, string> = {}): Promise<Running> {
  const { logger, lines } = memoryLogger();
  const api = await h.startApi(
    { RESEND_WEBHOOK_SECRET: `${SECRET} ${OLD_SECRET}`, REDIS_URL: redisUrl, ...extraEnv },
    { logger },
  );
  return { baseUrl: api.baseUrl, queues: api.queues, lines, close: () => api.close() };
}

async function post(api: Running, body: string | Buffer, headers: Record<string, string>) {
  const started = performance.now();
  const response = await fetch(`${api.baseUrl}/webhooks/resend`, { method: "POST", headers, body });
  const text = await response.text();
  return {
    status: response.status,
    contentType: response.headers.get("content-type") ?? "",
    json: text.startsWith("{") ? (JSON.parse(text) as Record<string, unknown>) : undefined,
    ms: performance.now() - started,
  };
}

const send = (api: Running, signed: Signed) => post(api, signed.body, signed.headers);

async function waitingCount(queues: Queues): Promise<number> {
  return (await queues.inbox.getJobCounts("waiting")).waiting ?? 0;
}

/** How many copies of this svix-id the inbox holds (each in a batch job). */
const copiesOf = async (queues: Queues, svixId: string) => (await findInboxEvent(queues.inbox, svixId)).length;

let h: MailstateHarness;

beforeAll(async () => {
  h = await createHarness("api_webhooks", mailstateSystem);
});

afterAll(async () => {
  await h?.close();
});

describe("POST /webhooks/resend", () => {
  let api: Running;
  beforeAll(async () => {
    api = await startApi(testRedisUrl(), { WEBHOOK_ENQUEUE_TIMEOUT_MS: "1000" });
  });
  afterAll(async () => {
    await api?.close();
  });

  it("input: valid signed email.delivered → 200 queued, in one inbox.batch job: the svix-id, the time received and the event", async () => {
    const signed = sign(JSON.stringify(event()));
    const answer = await send(api, signed);
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ status: "queued", svixId: signed.id });

    const [found, ...more] = await findInboxEvent(api.queues.inbox, signed.id);
    expect(more).toEqual([]);
    expect(found?.job.name).toBe("inbox.batch");
    expect(found?.job.id).toMatch(/^batch-[0-9a-f-]{36}$/);
    expect(found?.event).toEqual({ svixId: signed.id, receivedAt: expect.any(String), event: event() });
    expect(Date.parse(found?.event.receivedAt ?? "")).toBeGreaterThan(Date.now() - 60_000);
    expect(found?.job.opts).toMatchObject({
      attempts: JOBS["inbox.batch"].options.attempts,
      backoff: { type: "capped-exponential", delay: 1_000 },
    });
  });

  it("input: 40 signed webhooks at once, then the same 40 again → 200 each; each copy in one batch job of at most WEBHOOK_BATCH_SIZE (32), the redelivery in new jobs (PostgreSQL dedupes)", async () => {
    const signed = Array.from({ length: 40 }, (_, i) =>
      sign(JSON.stringify({ ...event(), data: { email_id: `re_b${i}` } })),
    );
    const before = await inboxEvents(api.queues.inbox);
    const first = await Promise.all(signed.map((one) => send(api, one)));
    expect(first.map((answer) => answer.status)).toEqual(signed.map(() => 200));
    expect(first.map((answer) => answer.json?.svixId)).toEqual(signed.map((one) => one.id));
    const found = await Promise.all(signed.map((one) => findInboxEvent(api.queues.inbox, one.id)));
    expect(found.map((copies) => copies.length)).toEqual(signed.map(() => 1));
    expect(found.map(([copy]) => copy?.event.event.data)).toEqual(signed.map((_, i) => ({ email_id: `re_b${i}` })));
    const jobs = new Set(found.map(([copy]) => copy?.job.id));
    expect(jobs.size).toBeGreaterThanOrEqual(1);
    expect(jobs.size).toBeLessThanOrEqual(40);
    for (const [copy] of found)
      expect((copy?.job.data.events as unknown[] | undefined)?.length).toBeLessThanOrEqual(32);

    // Resend's redelivery of all of them: answered 200 again, each a second copy in a job of its batch.
    const again = await Promise.all(signed.map((one) => send(api, one)));
    expect(again.map((answer) => answer.status)).toEqual(signed.map(() => 200));
    expect((await inboxEvents(api.queues.inbox)).length).toBe(before.length + 80);
    const copies = await Promise.all(signed.map((one) => copiesOf(api.queues, one.id)));
    expect(copies).toEqual(signed.map(() => 2));
  });

  it("input: WEBHOOK_BATCH_SIZE=8 with a 100 ms wait, 24 signed webhooks at once → 200 each, in jobs of at most 8 events (a full batch goes without waiting)", async () => {
    const small = await startApi(testRedisUrl(), { WEBHOOK_BATCH_SIZE: "8", WEBHOOK_BATCH_WAIT_MS: "100" });
    try {
      const signed = Array.from({ length: 24 }, (_, i) =>
        sign(JSON.stringify({ ...event(), data: { email_id: `re_small${i}` } })),
      );
      const answers = await Promise.all(signed.map((one) => send(small, one)));
      expect(answers.map((answer) => answer.status)).toEqual(signed.map(() => 200));
      const found = await Promise.all(signed.map((one) => findInboxEvent(small.queues.inbox, one.id)));
      expect(found.map((copies) => copies.length)).toEqual(signed.map(() => 1));
      const sizes = new Map(
        found.map(([copy]) => [copy?.job.id, (copy?.job.data.events as unknown[] | undefined)?.length ?? 0]),
      );
      expect(sizes.size).toBeGreaterThanOrEqual(3);
      for (const size of sizes.values()) expect(size).toBeLessThanOrEqual(8);
    } finally {
      await small.close();
    }
  });

  it("input: signed with the new secret, then with the old one, both configured (rotation) → 200 both", async () => {
    expect((await send(api, sign(JSON.stringify(event()), { secret: SECRET }))).status).toBe(200);
    expect((await send(api, sign(JSON.stringify(event()), { secret: OLD_SECRET }))).status).toBe(200);
  });

  it("input: one byte of the signed body changed → 401 webhook-signature-invalid, nothing enqueued", async () => {
    const signed = sign(JSON.stringify(event()));
    const tampered = signed.body.replace('"email.delivered"', '"email.delivereD"');
    expect(tampered.length).toBe(signed.body.length);
    const answer = await post(api, tampered, signed.headers);
    expect(answer.status).toBe(401);
    expect(answer.contentType).toMatch(/^application\/problem\+json/);
    expect(answer.json).toMatchObject({
      type: "https://mailstate.dev/problems/webhook-signature-invalid",
      status: 401,
    });
    expect(await copiesOf(api.queues, signed.id)).toBe(0);
  });

  it("input: signed with a secret that is not configured → 401 webhook-signature-invalid", async () => {
    const answer = await send(api, sign(JSON.stringify(event()), { secret: WRONG_SECRET }));
    expect(answer.status).toBe(401);
    expect(answer.json?.type).toBe("https://mailstate.dev/problems/webhook-signature-invalid");
  });

  it.each([
    ["6 minutes old", -6],
    ["6 minutes ahead", 6],
  ])("input: validly signed, timestamp %s → 400 webhook-timestamp-out-of-tolerance", async (_label, minutes) => {
    const signed = sign(JSON.stringify(event()), { at: new Date(Date.now() + minutes * 60_000) });
    const answer = await send(api, signed);
    expect(answer.status).toBe(400);
    expect(answer.json?.type).toBe("https://mailstate.dev/problems/webhook-timestamp-out-of-tolerance");
    expect(await copiesOf(api.queues, signed.id)).toBe(0);
  });

  it.each(["svix-id", "svix-timestamp", "svix-signature"])(
    "input: %s header missing → 400 webhook-headers-invalid",
    async (name) => {
      const signed = sign(JSON.stringify(event()));
      const headers = { ...signed.headers };
      delete headers[name];
      const answer = await post(api, signed.body, headers);
      expect(answer.status).toBe(400);
      expect(answer.contentType).toMatch(/^application\/problem\+json/);
      expect(answer.json?.type).toBe("https://mailstate.dev/problems/webhook-headers-invalid");
    },
  );

  it("input: svix-timestamp not numeric → 400 webhook-headers-invalid", async () => {
    const signed = sign(JSON.stringify(event()));
    const answer = await post(api, signed.body, { ...signed.headers, "svix-timestamp": "yesterday" });
    expect(answer.status).toBe(400);
    expect(answer.json?.type).toBe("https://mailstate.dev/problems/webhook-headers-invalid");
  });

  it("input: webhook-id/-timestamp/-signature aliases instead of svix-* → 200 queued", async () => {
    const signed = sign(JSON.stringify(event()));
    const answer = await post(api, signed.body, {
      "content-type": "application/json",
      "webhook-id": signed.id,
      "webhook-timestamp": signed.headers["svix-timestamp"] ?? "",
      "webhook-signature": signed.headers["svix-signature"] ?? "",
    });
    expect(answer.status).toBe(200);
  });

  it.each([
    ["not JSON", "this is not json"],
    ["JSON without a type", JSON.stringify({ data: {} })],
    ["JSON with a numeric type", JSON.stringify({ type: 42 })],
    ["a JSON array", JSON.stringify([event()])],
    ["empty", ""],
  ])("input: validly signed body that is %s → 400 webhook-body-invalid, nothing enqueued", async (_label, body) => {
    const signed = sign(body);
    const answer = await send(api, signed);
    expect(answer.status).toBe(400);
    expect(answer.json?.type).toBe("https://mailstate.dev/problems/webhook-body-invalid");
    expect(await copiesOf(api.queues, signed.id)).toBe(0);
  });

  it("input: 2 MB signed body (limit 256kb) → 413 payload-too-large", async () => {
    const big = JSON.stringify({ ...event(), padding: "x".repeat(2 * 1024 * 1024) });
    const signed = sign(big);
    const answer = await send(api, signed);
    expect(answer.status).toBe(413);
    expect(answer.json?.type).toBe("https://mailstate.dev/problems/payload-too-large");
    expect(await copiesOf(api.queues, signed.id)).toBe(0);
  });

  it.each(["contact.created", "foo.bar"])(
    "input: unknown event type %s, signed → 200 queued and enqueued",
    async (type) => {
      const signed = sign(JSON.stringify(event(type)));
      expect((await send(api, signed)).status).toBe(200);
      const [found] = await findInboxEvent(api.queues.inbox, signed.id);
      expect(found?.event.event.type).toBe(type);
    },
  );

  it("input: the same svix-id delivered three times → 200 each time, three copies in the inbox (the worker logs it once: webhook-burst.test.ts)", async () => {
    const signed = sign(JSON.stringify(event()));
    const answers = [await send(api, signed), await send(api, signed), await send(api, signed)];
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    const copies = await findInboxEvent(api.queues.inbox, signed.id);
    expect(copies.map(({ event }) => event.svixId)).toEqual([signed.id, signed.id, signed.id]);
  });

  it("input: svix-id with ':' in it → 200; the event keeps it, the job id has no ':'", async () => {
    const signed = sign(JSON.stringify(event()), { id: `msg:${nextId()}` });
    expect((await send(api, signed)).status).toBe(200);
    const [found] = await findInboxEvent(api.queues.inbox, signed.id);
    expect(found?.job.id).not.toContain(":");
    expect(found?.event.svixId).toBe(signed.id);
  });

  it("input: rejected requests → logs carry only the reason and svix-id, never headers or body", async () => {
    const signed = sign(JSON.stringify({ ...event(), data: { secret_marker: "do-not-log-me" } }), {
      secret: WRONG_SECRET,
    });
    const from = api.lines.length;
    await send(api, signed);
    const logged = api.lines.slice(from).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ svixId: signed.id, reason: "signature_invalid", msg: "webhook rejected" });
    const text = api.lines.slice(from).join("");
    expect(text).not.toContain("do-not-log-me");
    expect(text).not.toContain(signed.headers["svix-signature"]);
  });

  it("input: GET /v1/suppressions/ada%40example.com and /support?q=ada@example.com → the request log has the route, not the address", async () => {
    const from = api.lines.length;
    await fetch(`${api.baseUrl}/v1/suppressions/ada%40example.com`);
    await fetch(`${api.baseUrl}/support?q=ada@example.com`);
    const urls = api.lines.slice(from).map((line) => (JSON.parse(line) as { req?: { url?: string } }).req?.url);
    expect(urls).toEqual(["/v1/suppressions/[address]", "/support?q=[address]"]);
    expect(api.lines.slice(from).join("")).not.toMatch(/ada(@|%40)/);
  });

  it("input: GET /metrics after the matrix → outcome counters, enqueue histogram and inbox depth", async () => {
    const response = await fetch(`${api.baseUrl}/metrics`);
    expect(response.status).toBe(200);
    const text = await response.text();
    const value = (line: string) =>
      Number(
        text
          .split("\n")
          .find((l) => l.startsWith(line))
          ?.slice(line.length + 1),
      );
    expect(value('mailstate_webhooks_total{outcome="queued"}')).toBeGreaterThanOrEqual(10);
    expect(value('mailstate_webhooks_total{outcome="signature_invalid"}')).toBeGreaterThanOrEqual(3);
    expect(value('mailstate_webhooks_total{outcome="headers_invalid"}')).toBe(4);
    expect(value('mailstate_webhooks_total{outcome="timestamp_out_of_tolerance"}')).toBe(2);
    expect(value('mailstate_webhooks_total{outcome="body_invalid"}')).toBe(5);
    expect(value('mailstate_webhooks_total{outcome="too_large"}')).toBe(1);
    expect(value("mailstate_webhook_enqueue_seconds_count")).toBeGreaterThanOrEqual(10);
    expect(value('mailstate_queue_jobs{queue="inbox",state="waiting"}')).toBe(await waitingCount(api.queues));
    expect(value('mailstate_queue_jobs{queue="unmatched",state="failed"}')).toBe(0);
    expect(value("mailstate_queue_up")).toBe(1);
  });
});

describe("POST /webhooks/resend while Redis is down", () => {
  let redisPort: number;
  let redisServer: Spawned | undefined;
  let api: Running;
  const TIMEOUT_MS = 1_000;

  async function startRedis() {
    const spawned = spawnProcess(
      "redis-server",
      ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"],
      process.env,
    );
    await spawned.waitFor(/Ready to accept connections/);
    redisServer = spawned;
  }

  beforeAll(async () => {
    redisPort = await freePort();
    await startRedis();
    api = await startApi(`redis://127.0.0.1:${redisPort}`, { WEBHOOK_ENQUEUE_TIMEOUT_MS: String(TIMEOUT_MS) });
  });
  afterAll(async () => {
    await api?.close();
    await redisServer?.stop("SIGKILL");
  });

  it("input: valid webhook, Redis up → 200; Redis killed → 503 fast; Redis back on the same port → 200", async () => {
    expect((await send(api, sign(JSON.stringify(event())))).status).toBe(200);

    await redisServer?.stop("SIGKILL");
    const whileDown = sign(JSON.stringify(event()));
    const down = await send(api, whileDown);
    expect(down.status).toBe(503);
    expect(down.json?.type).toBe("https://mailstate.dev/problems/queue-unavailable");
    expect(down.ms).toBeLessThan(TIMEOUT_MS + 1_000);

    const metricsStarted = performance.now();
    const metrics = await (await fetch(`${api.baseUrl}/metrics`)).text();
    expect(performance.now() - metricsStarted).toBeLessThan(2_000);
    expect(metrics).toMatch(/^mailstate_queue_up 0$/m);
    expect(metrics).toMatch(/^mailstate_webhooks_total\{outcome="queue_unavailable"\} 1$/m);

    await startRedis();
    // Resend retries the same delivery; the client reconnects with a capped backoff.
    let status = 0;
    await waitUntil(
      "the same delivery to be answered 200 once Redis is back",
      async () => {
        status = (await send(api, whileDown)).status;
        return status === 200;
      },
      15_000,
      { intervalMs: 200, detail: () => `last answered ${status}` },
    );
    expect(status).toBe(200);
    expect(await copiesOf(api.queues, whileDown.id)).toBeGreaterThanOrEqual(1);
  });

  it("input: valid webhook while Redis is frozen (SIGSTOP) → 503 at the enqueue timeout, not a hang; 200 after SIGCONT", async () => {
    const frozen = sign(JSON.stringify(event()));
    redisServer?.child.kill("SIGSTOP");
    try {
      const answer = await send(api, frozen);
      expect(answer.status).toBe(503);
      expect(answer.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
      expect(answer.ms).toBeLessThan(TIMEOUT_MS + 1_000);

      const metricsStarted = performance.now();
      expect(await (await fetch(`${api.baseUrl}/metrics`)).text()).toMatch(/^mailstate_queue_up 0$/m);
      expect(performance.now() - metricsStarted).toBeLessThan(2_000);
    } finally {
      redisServer?.child.kill("SIGCONT");
    }
    // The add that timed out may land now, beside Resend's retry of the same svix-id: the worker
    // logs the first copy it applies, and the other is a no-op.
    expect((await send(api, frozen)).status).toBe(200);
    const copies = await copiesOf(api.queues, frozen.id);
    expect(copies).toBeGreaterThanOrEqual(1);
    expect(copies).toBeLessThanOrEqual(2);
  });
});
