// Failed ops sign-ins are throttled, on the real API and Redis: per (client IP, user name) and per
// client IP, counted in Redis under QUEUE_PREFIX (shared by every API process), X-Forwarded-For
// believed only from TRUST_PROXY; failures from one address never lock the operator out of another;
// if Redis is unreachable each process counts in memory instead.
import { type MailstateStack, mailstateSystem } from "@mailstate/api/testing";
import { createRedis } from "@mailstate/queue";
import {
  basicAuth,
  freePort,
  OPS_ENV,
  OPS_PASSWORD,
  OPS_USERNAME,
  startStack,
  testQueuePrefix,
  testRedisUrl,
  waitUntil,
} from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const THROTTLE = { OPS_LOGIN_MAX_FAILURES: "3", OPS_LOGIN_MAX_FAILURES_PER_IP: "5", OPS_LOGIN_WINDOW_SECONDS: "2" };
/** Shared by two API stacks, as by two processes of one deployment. */
const sharedPrefix = testQueuePrefix("throttle");

let stack: MailstateStack;
let sibling: MailstateStack;
let proxied: MailstateStack;
let redisDown: MailstateStack;

beforeAll(async () => {
  const deadRedis = `redis://127.0.0.1:${await freePort()}`;
  [stack, sibling, proxied, redisDown] = await Promise.all([
    startStack("ops_throttle", mailstateSystem, { env: { ...OPS_ENV, ...THROTTLE, QUEUE_PREFIX: sharedPrefix } }),
    startStack("ops_throttle_sibling", mailstateSystem, {
      env: { ...OPS_ENV, ...THROTTLE, QUEUE_PREFIX: sharedPrefix },
    }),
    // A longer window: its tests make 15 to 30 attempts, all inside one window however slow the machine.
    startStack("ops_throttle_proxy", mailstateSystem, {
      env: { ...OPS_ENV, ...THROTTLE, OPS_LOGIN_WINDOW_SECONDS: "6", TRUST_PROXY: "loopback" },
    }),
    startStack("ops_throttle_noredis", mailstateSystem, { env: { ...OPS_ENV, ...THROTTLE, REDIS_URL: deadRedis } }),
  ]);
  // Until each API's Redis connection is up: before that, failures are counted in its memory.
  for (const target of [stack, sibling, proxied]) {
    await waitUntil(
      `${target.label}'s /readyz to answer 200`,
      async () => (await fetch(`${target.baseUrl}/readyz`)).status === 200,
      10_000,
    );
  }
});
afterAll(async () => {
  await Promise.all([stack?.close(), sibling?.close(), proxied?.close(), redisDown?.close()]);
});

async function signIn(target: MailstateStack, user: string, password: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${target.baseUrl}/support`, {
    headers: { authorization: basicAuth(user, password), ...headers },
  });
  const text = await response.text();
  return {
    status: response.status,
    retryAfter: response.headers.get("retry-after"),
    type: response.headers.get("content-type"),
    text,
  };
}

/**
 * Until the window that Retry-After names has passed for `target`: its failure counts have expired
 * from Redis (each key lives as long as the window), so nothing it counted holds anyone back.
 * Within Retry-After, and some slack for a loaded machine.
 */
async function waitOut(target: MailstateStack, retryAfter: string | null): Promise<void> {
  let left: string[] = [];
  await waitUntil(
    `${target.label}'s failure counts to expire`,
    async () => {
      left = await target.redis.keys(`${target.prefix}:ops-login:*`);
      return left.length === 0;
    },
    Number(retryAfter) * 1_000 + 5_000,
    { detail: () => `still ${left.join(", ")}` },
  );
}

describe("failed sign-ins, per (client IP, user name) and per client IP", () => {
  it("input: 3 wrong passwords (OPS_LOGIN_MAX_FAILURES=3) → 401 each; a 4th → 429 problem+json with Retry-After; the right password then → 429; after the window → 200", async () => {
    for (let i = 0; i < 3; i += 1) expect((await signIn(stack, OPS_USERNAME, `wrong-${i}`)).status).toBe(401);
    const blocked = await signIn(stack, OPS_USERNAME, "wrong-3");
    expect(blocked.status).toBe(429);
    expect(blocked.type).toContain("application/problem+json");
    expect(JSON.parse(blocked.text).type).toBe("https://mailstate.dev/problems/too-many-sign-in-attempts");
    expect(Number(blocked.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(blocked.retryAfter)).toBeLessThanOrEqual(2);
    const right = await signIn(stack, OPS_USERNAME, OPS_PASSWORD);
    expect(right.status).toBe(429);
    await waitOut(stack, right.retryAfter);
    expect((await signIn(stack, OPS_USERNAME, OPS_PASSWORD)).status).toBe(200);
  });

  it("input: the count is in Redis under QUEUE_PREFIX; 3 wrong on one API process, the 4th on another with the same prefix → 429", async () => {
    for (let i = 0; i < 3; i += 1) expect((await signIn(stack, OPS_USERNAME, `wrong-${i}`)).status).toBe(401);
    const redis = createRedis(testRedisUrl(), "worker");
    try {
      const keys = await redis.keys(`${sharedPrefix}:ops-login:*`);
      expect(keys.map((key) => key.replace(/:[^:]+$/, "")).sort()).toEqual([
        `${sharedPrefix}:ops-login:ip`,
        `${sharedPrefix}:ops-login:ip-user`,
      ]);
      for (const key of keys) expect(await redis.pttl(key)).toBeLessThanOrEqual(2_000);
    } finally {
      redis.disconnect();
    }
    const other = await signIn(sibling, OPS_USERNAME, "wrong-3");
    expect(other.status).toBe(429);
    await waitOut(sibling, other.retryAfter);
  });

  it("input: default TRUST_PROXY, 5 wrong sign-ins each under another user name and X-Forwarded-For (OPS_LOGIN_MAX_FAILURES_PER_IP=5) → the 6th (right user, right password, new X-Forwarded-For) → 429: the address is the socket's", async () => {
    for (let i = 0; i < 5; i += 1) {
      const answer = await signIn(stack, `guess-${i}`, "wrong", { "x-forwarded-for": `203.0.113.${i + 1}` });
      expect(answer.status).toBe(401);
    }
    const answer = await signIn(stack, OPS_USERNAME, OPS_PASSWORD, { "x-forwarded-for": "203.0.113.99" });
    expect(answer.status).toBe(429);
    await waitOut(stack, answer.retryAfter);
  });

  it("input: 2 wrong passwords, the right one (200: the count of this name from this address starts again), 2 more wrong → 401 each, the right one → 200; a 5th wrong from the address → 401, then anything from it → 429 (its 5 failures per IP)", async () => {
    for (let i = 0; i < 2; i += 1) expect((await signIn(stack, OPS_USERNAME, `wrong-${i}`)).status).toBe(401);
    expect((await signIn(stack, OPS_USERNAME, OPS_PASSWORD)).status).toBe(200);
    for (let i = 2; i < 4; i += 1) expect((await signIn(stack, OPS_USERNAME, `wrong-${i}`)).status).toBe(401);
    expect((await signIn(stack, OPS_USERNAME, OPS_PASSWORD)).status).toBe(200);
    expect((await signIn(stack, OPS_USERNAME, "wrong-4")).status).toBe(401);
    const blocked = await signIn(stack, OPS_USERNAME, OPS_PASSWORD);
    expect(blocked.status).toBe(429);
    await waitOut(stack, blocked.retryAfter);
  });

  it("input: 10 requests with no credentials → 401 each, not counted: the right password then → 200", async () => {
    for (let i = 0; i < 10; i += 1) expect((await fetch(`${stack.baseUrl}/support`)).status).toBe(401);
    expect((await signIn(stack, OPS_USERNAME, OPS_PASSWORD)).status).toBe(200);
  });

  it("input: TRUST_PROXY=loopback, 30 wrong passwords for the operator's name from 198.51.100.1 → 3 × 401 then 27 × 429; the operator with the right password from 198.51.100.2 → 200 (not locked out); from .1 → still 429", async () => {
    const attacker = { "x-forwarded-for": "198.51.100.1" };
    const answers = [];
    for (let i = 0; i < 30; i += 1) answers.push((await signIn(proxied, OPS_USERNAME, `guess-${i}`, attacker)).status);
    expect(answers).toEqual([...Array(3).fill(401), ...Array(27).fill(429)]);
    const operator = await signIn(proxied, OPS_USERNAME, OPS_PASSWORD, { "x-forwarded-for": "198.51.100.2" });
    expect(operator.status).toBe(200);
    const stillBlocked = await signIn(proxied, OPS_USERNAME, OPS_PASSWORD, attacker);
    expect(stillBlocked.status).toBe(429);
    await waitOut(proxied, stillBlocked.retryAfter);
  });

  it("input: TRUST_PROXY=loopback, one user name guessed from 5 forwarded addresses, 2 each → 401 every time (each address has its own count); a 3rd from each → 401, a 4th → 429 from that address only", async () => {
    for (let round = 0; round < 3; round += 1) {
      for (let i = 0; i < 5; i += 1) {
        const answer = await signIn(proxied, OPS_USERNAME, "wrong", { "x-forwarded-for": `198.51.100.${10 + i}` });
        expect(answer.status).toBe(401);
      }
    }
    const blocked = await signIn(proxied, OPS_USERNAME, OPS_PASSWORD, { "x-forwarded-for": "198.51.100.10" });
    expect(blocked.status).toBe(429);
    expect((await signIn(proxied, OPS_USERNAME, OPS_PASSWORD, { "x-forwarded-for": "198.51.100.20" })).status).toBe(
      200,
    );
    await waitOut(proxied, blocked.retryAfter);
  });
});

describe("Redis unreachable", () => {
  it("input: REDIS_URL where nothing listens, the right password → 200 (support pages stay open); 3 wrong → 401, a 4th → 429 (counted in memory)", async () => {
    expect((await signIn(redisDown, OPS_USERNAME, OPS_PASSWORD)).status).toBe(200);
    for (let i = 0; i < 3; i += 1) expect((await signIn(redisDown, OPS_USERNAME, `wrong-${i}`)).status).toBe(401);
    expect((await signIn(redisDown, OPS_USERNAME, "wrong-3")).status).toBe(429);
  });
});
