// /readyz tells the truth about the inbox, against a Redis of the test's own (never the shared
// one's config): 503 when Redis would evict jobs (maxmemory-policy other than noeviction) or
// refuses writes while still answering PING (maxmemory reached), read from CONFIG GET or, where
// CONFIG is refused as on managed Redis, from INFO.
import { type MailstateStack, mailstateSystem } from "@mailstate/api/testing";
import { createRedis } from "@mailstate/queue";
import { type RedisServer, startRedisServer, startStack, waitUntil } from "@mailstate/test-support";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let server: RedisServer;
let admin: Redis;
let stack: MailstateStack;
let noConfig: MailstateStack;
let noConfigNoInfo: MailstateStack;

beforeAll(async () => {
  server = await startRedisServer();
  admin = createRedis(server.url, "worker");
  // Users as a managed Redis gives them: CONFIG refused; then CONFIG and INFO refused.
  await admin.call("ACL", "SETUSER", "managed", "on", ">managed-pw", "~*", "&*", "+@all", "-config");
  await admin.call("ACL", "SETUSER", "locked", "on", ">locked-pw", "~*", "&*", "+@all", "-config", "-info");
  const at = (user: string) => server.url.replace("redis://", `redis://${user}@`);
  [stack, noConfig, noConfigNoInfo] = await Promise.all([
    startStack("readyz", mailstateSystem, { env: { REDIS_URL: server.url } }),
    startStack("readyz_managed", mailstateSystem, { env: { REDIS_URL: at("managed:managed-pw") } }),
    startStack("readyz_locked", mailstateSystem, { env: { REDIS_URL: at("locked:locked-pw") } }),
  ]);
});
afterAll(async () => {
  await Promise.all([stack?.close(), noConfig?.close(), noConfigNoInfo?.close()]);
  admin?.disconnect();
  await server?.destroy();
});

interface Readiness {
  status: string;
  redis: string;
  postgres: string;
  inbox: string;
}

async function readyz(target: MailstateStack): Promise<{ status: number; body: Readiness }> {
  const response = await fetch(`${target.baseUrl}/readyz`);
  return { status: response.status, body: (await response.json()) as Readiness };
}

/** Until the API's own connection is up (it connects at start). */
async function settled(target: MailstateStack) {
  await waitUntil(
    "the API's Redis connection to be up",
    async () => (await readyz(target)).body.redis !== "down",
    5_000,
  );
}

describe("/readyz", () => {
  it("input: Redis with noeviction, writable → 200 {status ready, redis up, postgres up, inbox writable}", async () => {
    await settled(stack);
    expect(await readyz(stack)).toEqual({
      status: 200,
      body: { status: "ready", redis: "up", postgres: "up", inbox: "writable" },
    });
  });

  it("input: CONFIG SET maxmemory-policy allkeys-lru → 503, redis: maxmemory-policy is allkeys-lru, needs noeviction; back to noeviction → 200", async () => {
    await admin.config("SET", "maxmemory-policy", "allkeys-lru");
    expect(await readyz(stack)).toEqual({
      status: 503,
      body: {
        status: "unavailable",
        redis: "maxmemory-policy is allkeys-lru, needs noeviction",
        postgres: "up",
        inbox: "writable",
      },
    });
    await admin.config("SET", "maxmemory-policy", "noeviction");
    expect((await readyz(stack)).status).toBe(200);
  });

  it("input: maxmemory reached under noeviction (PING still answers, writes get OOM) → 503, inbox: not writable: OOM …; limit lifted → 200", async () => {
    await admin.config("SET", "maxmemory", "1");
    try {
      const answer = await readyz(stack);
      expect(answer.status).toBe(503);
      expect(answer.body).toMatchObject({ status: "unavailable", redis: "up", postgres: "up" });
      expect(answer.body.inbox).toMatch(/^not writable: OOM command not allowed/);
    } finally {
      await admin.config("SET", "maxmemory", "0");
    }
    expect((await readyz(stack)).status).toBe(200);
  });

  it("input: the API's Redis made a replica (REPLICAOF another server: PING answers, writes get READONLY) → 503, inbox: not writable: READONLY …; made a primary again → 200", async () => {
    const primary = await startRedisServer();
    try {
      await admin.call("REPLICAOF", "127.0.0.1", String(primary.port));
      const answer = await readyz(stack);
      expect(answer.status).toBe(503);
      expect(answer.body).toMatchObject({ status: "unavailable", redis: "up", postgres: "up" });
      expect(answer.body.inbox).toMatch(/^not writable: READONLY/);
    } finally {
      await admin.call("REPLICAOF", "NO", "ONE");
      await primary.destroy();
    }
    expect((await readyz(stack)).status).toBe(200);
  });

  it("input: CONFIG refused to the API's Redis user, policy allkeys-lru → 503 all the same (read from INFO memory)", async () => {
    await settled(noConfig);
    await admin.config("SET", "maxmemory-policy", "allkeys-lru");
    try {
      const answer = await readyz(noConfig);
      expect(answer.status).toBe(503);
      expect(answer.body.redis).toBe("maxmemory-policy is allkeys-lru, needs noeviction");
    } finally {
      await admin.config("SET", "maxmemory-policy", "noeviction");
    }
  });

  it("input: CONFIG and INFO both refused, policy allkeys-lru → 200: a policy nothing reports is not held against Redis", async () => {
    await settled(noConfigNoInfo);
    await admin.config("SET", "maxmemory-policy", "allkeys-lru");
    try {
      expect(await readyz(noConfigNoInfo)).toEqual({
        status: 200,
        body: { status: "ready", redis: "up", postgres: "up", inbox: "writable" },
      });
    } finally {
      await admin.config("SET", "maxmemory-policy", "noeviction");
    }
  });
});
