// Failed ops sign-ins are throttled, on the real API and Redis: per client IP and per user name,
// counted in Redis under QUEUE_PREFIX (shared by every API process), X-Forwarded-For believed only
// from TRUST_PROXY; if Redis is unreachable each process counts in memory instead.
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

const THROTTLE = { OPS_LOGIN_MAX_FAILURES: "3", OPS_LOGIN_WINDOW_SECONDS: "2" };
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
    startStack("ops_throttle_proxy", mailstateSystem, { env: { ...OPS_ENV, ...THROTTLE, TRUST_PROXY: "loopback" } }),
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

/** Until the window that Retry-After names has passed. */
const waitOut = (retryAfter: string | null) =>
  new Promise((resolve) => setTimeout(resolve, Number(retryAfter) * 1_000 + 100));

describe("failed sign-ins, per client IP and per user name", () => {
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
    await waitOut(right.retryAfter);
    expect((await signIn(stack, OPS_USERNAME, OPS_PASSWORD)).status).toBe(200);
  });

  it("input: the count is in Redis under QUEUE_PREFIX; 3 wrong on one API process, the 4th on another with the same prefix → 429", async () => {
    for (let i = 0; i < 3; i += 1) expect((await signIn(stack, OPS_USERNAME, `wrong-${i}`)).status).toBe(401);
    const redis = createRedis(testRedisUrl(), "worker");
    try {
      const keys = await redis.keys(`${sharedPrefix}:ops-login:*`);
      expect(keys.map((key) => key.replace(/:[^:]+$/, "")).sort()).toEqual([
        `${sharedPrefix}:ops-login:ip`,
        `${sharedPrefix}:ops-login:user`,
      ]);
      for (const key of keys) expect(await redis.pttl(key)).toBeLessThanOrEqual(2_000);
    } finally {
      redis.disconnect();
    }
    const other = await signIn(sibling, OPS_USERNAME, "wrong-3");
    expect(other.status).toBe(429);
    await waitOut(other.retryAfter);
  });

  it("input: default TRUST_PROXY, 3 wrong sign-ins each under another user name and X-Forwarded-For → the 4th (right user, right password, new X-Forwarded-For) → 429: the address is the socket's", async () => {
    for (let i = 0; i < 3; i += 1) {
      const answer = await signIn(stack, `guess-${i}`, "wrong", { "x-forwarded-for": `203.0.113.${i + 1}` });
      expect(answer.status).toBe(401);
    }
    const answer = await signIn(stack, OPS_USERNAME, OPS_PASSWORD, { "x-forwarded-for": "203.0.113.99" });
    expect(answer.status).toBe(429);
    await waitOut(answer.retryAfter);
  });

  it("input: 2 wrong passwords, then the right one 5 times → 200 each (not counted, no reset); 1 more wrong → 401; the next → 429", async () => {
    for (let i = 0; i < 2; i += 1) expect((await signIn(stack, OPS_USERNAME, `wrong-${i}`)).status).toBe(401);
    for (let i = 0; i < 5; i += 1) expect((await signIn(stack, OPS_USERNAME, OPS_PASSWORD)).status).toBe(200);
    expect((await signIn(stack, OPS_USERNAME, "wrong-2")).status).toBe(401);
    const blocked = await signIn(stack, OPS_USERNAME, OPS_PASSWORD);
    expect(blocked.status).toBe(429);
    await waitOut(blocked.retryAfter);
  });

  it("input: 10 requests with no credentials → 401 each, not counted: the right password then → 200", async () => {
    for (let i = 0; i < 10; i += 1) expect((await fetch(`${stack.baseUrl}/support`)).status).toBe(401);
    expect((await signIn(stack, OPS_USERNAME, OPS_PASSWORD)).status).toBe(200);
  });

  it("input: TRUST_PROXY=loopback, one user name guessed from 3 forwarded addresses, then from a 4th → 429 (per user name); another name from a 5th → 401 (its own address count)", async () => {
    for (let i = 0; i < 3; i += 1) {
      const answer = await signIn(proxied, OPS_USERNAME, "wrong", { "x-forwarded-for": `198.51.100.${i + 1}` });
      expect(answer.status).toBe(401);
    }
    expect((await signIn(proxied, OPS_USERNAME, OPS_PASSWORD, { "x-forwarded-for": "198.51.100.4" })).status).toBe(429);
    expect((await signIn(proxied, "someone-else", "wrong", { "x-forwarded-for": "198.51.100.5" })).status).toBe(401);
  });
});

describe("Redis unreachable", () => {
  it("input: REDIS_URL where nothing listens, the right password → 200 (support pages stay open); 3 wrong → 401, a 4th → 429 (counted in memory)", async () => {
    expect((await signIn(redisDown, OPS_USERNAME, OPS_PASSWORD)).status).toBe(200);
    for (let i = 0; i < 3; i += 1) expect((await signIn(redisDown, OPS_USERNAME, `wrong-${i}`)).status).toBe(401);
    expect((await signIn(redisDown, OPS_USERNAME, "wrong-3")).status).toBe(429);
  });
});
