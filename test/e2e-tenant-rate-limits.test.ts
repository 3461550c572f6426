// The per-key rate limit end to end, on the real API (one or two processes sharing Redis) and
// keys made with the ops CLI: the limit and its Retry-After, what the SDK does with it, admin keys,
// load at the default limits, a flood of unknown keys, and Redis unreachable.
import { randomUUID } from "node:crypto";
import type { MailstateStack } from "@mailstate/api/testing";
import { createMailstate } from "@mailstate/sdk";
import { freePort, sleep, testQueuePrefix, waitUntil } from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { as, type CreatedKey, createKey, send, startTenants } from "./tenant-fixtures.ts";

describe("the per-key rate limit: tenants' keys made with the CLI, and API_KEYS' admin key", () => {
  let stack: MailstateStack;
  let acme: CreatedKey;
  let globex: CreatedKey;

  beforeAll(async () => {
    ({ stack, acme, globex } = await startTenants("e2e_tenant_rate_limits"));
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("rate limit 2/s with a burst of 3, shared by two APIs through Redis: 12 requests at once → 5 to 7 pass, the rest 429 with Retry-After; globex is not held back; after Retry-After acme passes again", async () => {
    // A prefix of their own: the counts of the requests before, at the default limits, stay apart.
    const limits = { API_RATE_LIMIT_RPS: "2", API_RATE_LIMIT_BURST: "3", QUEUE_PREFIX: testQueuePrefix("rl") };
    const [one, two] = await Promise.all([stack.startApi(limits), stack.startApi(limits)]);
    // Until each API's Redis connection is up: before that, requests are counted in its memory.
    for (const target of [one, two]) {
      await waitUntil(
        "the API's /readyz to answer 200",
        async () => (await fetch(`${target.baseUrl}/readyz`)).status === 200,
        10_000,
      );
    }
    const [first, second] = [as(one, acme.key), as(two, acme.key)];
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, index) => (index % 2 === 0 ? first : second)("GET", "/v1/notifications?limit=1")),
    );
    const passed = answers.filter((answer) => answer.status === 200).length;
    const limited = answers.filter((answer) => answer.status === 429);
    // 2 a second plus 3 in reserve; 7 if the 12 straddle a second's boundary.
    expect(passed).toBeGreaterThanOrEqual(5);
    expect(passed).toBeLessThanOrEqual(7);
    expect(limited.length).toBe(12 - passed);
    for (const answer of limited) {
      expect(answer.contentType).toBe("application/problem+json; charset=utf-8");
      expect(answer.body.type).toBe("https://mailstate.dev/problems/rate-limited");
      expect(Number(answer.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    }
    expect((await as(one, globex.key)("GET", "/v1/notifications?limit=1")).status).toBe(200);

    // The wait is the subject: after the Retry-After the API asked for, and no longer, acme passes.
    await sleep(Number(limited[0]?.headers.get("retry-after") ?? 1) * 1_000);
    expect((await first("GET", "/v1/notifications?limit=1")).status).toBe(200);

    // The SDK waits out Retry-After: 8 calls in a row all succeed, though only 2 a second pass.
    const sdk = createMailstate({ baseUrl: two.baseUrl, apiKey: globex.key });
    const started = Date.now();
    for (let call = 0; call < 8; call += 1) await sdk.list({ limit: 1 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    // One that will not wait gets the 429 as an error, with the wait the API asked for.
    const impatient = createMailstate({ baseUrl: two.baseUrl, apiKey: globex.key, rateLimitRetries: 0 });
    const errors = await Promise.all(
      Array.from({ length: 8 }, () =>
        impatient.list({ limit: 1 }).then(
          () => null,
          (error: unknown) => error,
        ),
      ),
    );
    expect(errors.find((error) => error !== null)).toMatchObject({
      code: "rate_limited",
      status: 429,
      retryAfterMs: 1_000,
    });
  });

  /** `count` single records with `key`, started at `rate` a second (open loop): the statuses seen, and how many of each. */
  async function recordAtRate(key: string, count: number, rate: number): Promise<Record<string, number>> {
    const call = as(stack, key);
    const started = performance.now();
    const statuses = await Promise.all(
      Array.from({ length: count }, async (_, index) => {
        const wait = started + (index * 1_000) / rate - performance.now();
        // The pace is the load the test sets: this record starts at its turn, whatever the others do.
        if (wait > 0) await sleep(wait);
        const answer = await call("POST", "/v1/notifications", send(`${randomUUID()}@limits.test`));
        return answer.status;
      }),
    );
    const counts: Record<string, number> = {};
    for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
    return counts;
  }

  it("input: 2,000 single records at 1,000/s from an admin key of API_KEYS, default limits → 2,000 × 201, no 429 (admin keys are not limited unless API_RATE_LIMIT_ADMIN_RPS is set)", async () => {
    expect(await recordAtRate(stack.apiKey, 2_000, 1_000)).toEqual({ 201: 2_000 });
  });

  it("input: 2,000 single records at 1,000/s from a tenant key, default limits (1,000/s, a reserve of 10,000) → 2,000 × 201, no 429", async () => {
    const campaign = await createKey(stack, "--tenant", "campaign");
    expect(await recordAtRate(campaign.key, 2_000, 1_000)).toEqual({ 201: 2_000 });
  });

  it("input: API_RATE_LIMIT_ADMIN_RPS=2 with API_RATE_LIMIT_BURST=0, 12 requests at once from an admin key → 2 or 4 pass, the rest 429 with Retry-After; a tenant key is held to API_RATE_LIMIT_RPS, not to the admin's", async () => {
    const limited = await stack.startApi({
      API_RATE_LIMIT_ADMIN_RPS: "2",
      API_RATE_LIMIT_BURST: "0",
      QUEUE_PREFIX: testQueuePrefix("rla"),
    });
    await waitUntil(
      "the API's /readyz to answer 200",
      async () => (await fetch(`${limited.baseUrl}/readyz`)).status === 200,
      10_000,
    );
    const answers = await Promise.all(
      Array.from({ length: 12 }, () => as(limited, stack.apiKey)("GET", "/v1/notifications?limit=1")),
    );
    const passed = answers.filter((answer) => answer.status === 200).length;
    // 2 a second, no reserve; 4 if the 12 straddle a second's boundary.
    expect(passed).toBeGreaterThanOrEqual(2);
    expect(passed).toBeLessThanOrEqual(4);
    const refused = answers.filter((answer) => answer.status === 429);
    expect(refused).toHaveLength(12 - passed);
    expect(Number(refused[0]?.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    const tenant = await Promise.all(
      Array.from({ length: 12 }, () => as(limited, acme.key)("GET", "/v1/notifications?limit=1")),
    );
    expect(tenant.map((answer) => answer.status)).toEqual(tenant.map(() => 200));
  });

  it("input: 2,000 requests with random unknown keys (50 at a time) while a real tenant key records 200 sends one by one → every random one 401, every real one 201, none 429", async () => {
    const real = await createKey(stack, "--tenant", "flooded");
    let flooding = true;
    const flood = (async () => {
      const statuses: number[] = [];
      for (let wave = 0; wave < 40; wave += 1) {
        const answers = await Promise.all(
          Array.from({ length: 50 }, () =>
            as(stack, `msk_${randomUUID().replaceAll("-", "")}`)("GET", "/v1/notifications"),
          ),
        );
        statuses.push(...answers.map((answer) => answer.status));
      }
      flooding = false;
      return statuses;
    })();
    const latencies: number[] = [];
    const realStatuses: number[] = [];
    for (let i = 0; i < 200; i += 1) {
      const started = performance.now();
      const answer = await as(stack, real.key)("POST", "/v1/notifications", send(`${randomUUID()}@flooded.test`));
      latencies.push(performance.now() - started);
      realStatuses.push(answer.status);
    }
    const duringFlood = flooding;
    const floodStatuses = await flood;
    latencies.sort((a, b) => a - b);
    console.log(
      `RANDOM KEYS: ${floodStatuses.length} random → ${[...new Set(floodStatuses)].join(",")}; real client p50 ${latencies[100]?.toFixed(1)} ms p99 ${latencies[198]?.toFixed(1)} ms, flood still running at its end: ${duringFlood}`,
    );
    expect(floodStatuses).toEqual(floodStatuses.map(() => 401));
    expect(realStatuses).toEqual(realStatuses.map(() => 201));
  });

  it("rate limit with REDIS_URL where nothing listens: /v1 stays open and the limit holds, counted in the API's memory", async () => {
    const deadRedis = `redis://127.0.0.1:${await freePort()}`;
    const lonely = await stack.startApi({ API_RATE_LIMIT_RPS: "2", API_RATE_LIMIT_BURST: "3", REDIS_URL: deadRedis });
    const answers = await Promise.all(
      Array.from({ length: 12 }, () => as(lonely, acme.key)("GET", "/v1/notifications?limit=1")),
    );
    const passed = answers.filter((answer) => answer.status === 200).length;
    expect(passed).toBeGreaterThanOrEqual(5);
    expect(passed).toBeLessThanOrEqual(7);
    expect(answers.filter((answer) => answer.status === 429)).toHaveLength(12 - passed);
  });
});
