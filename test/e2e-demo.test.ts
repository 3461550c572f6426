// `pnpm demo` on a database and queue prefix of its own: with --exit, within a minute, notifications
// in every state it promises, and the summary says where to look and with which credentials; without
// it, Ctrl-C stops it as it stops `pnpm start`, with exit 0 and no complaint from pnpm.
import { spawn } from "node:child_process";
import { createQueues, createRedis } from "@mailstate/queue";
import { DELIVERY_STATES } from "@mailstate/state-machine";
import {
  createTestDatabase,
  freePort,
  spawnProcess,
  type TestDatabase,
  testQueuePrefix,
  testRedisUrl,
  waitUntil,
} from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let database: TestDatabase;
const prefix = testQueuePrefix("demo");

beforeAll(async () => {
  database = await createTestDatabase("demo");
});
afterAll(async () => {
  const redis = createRedis(testRedisUrl(), "worker");
  const queues = createQueues(redis, prefix);
  for (const queue of [queues.inbox, queues.unmatched, queues.maintenance, queues.resend, queues.webhooks])
    await queue.obliterate({ force: true });
  await queues.close();
  redis.disconnect();
  await database?.drop();
});

/** The demo's environment: the test's database, Redis and prefix, on `port`. */
function demoEnv(port: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DEMO_DATABASE_URL: database.url,
    REDIS_URL: testRedisUrl(),
    DEMO_QUEUE_PREFIX: prefix,
    DEMO_PORT: String(port),
  };
  // The demo generates what is missing, for its own processes only.
  for (const name of ["RESEND_WEBHOOK_SECRET", "API_KEYS", "OPS_PASSWORD", "OPS_USERNAME", "PORT"]) delete env[name];
  return env;
}

describe("pnpm demo --exit", () => {
  it("300 emails → every state shows in the summary, with the support and Bull Board URLs and generated credentials; exit 0", async () => {
    const port = await freePort();
    const env = demoEnv(port);
    const demo = spawnProcess(process.execPath, ["--import", "tsx", "scripts/demo.ts", "--exit", "--seed", "7"], env);
    const code = await new Promise<number | null>((resolve) => demo.child.on("exit", resolve));
    const output = demo.output();
    expect(code, output).toBe(0);

    const states: Record<string, number> = Object.fromEntries(
      [...output.matchAll(/^ {2}(\w+) +(\d+)$/gm)].map(([, state, count]) => [state, Number(count)]),
    );
    // Every state: the demo schedules four sends and cancels two of them.
    for (const state of DELIVERY_STATES) {
      expect(states[state], `${state} in:\n${output}`).toBeGreaterThan(0);
    }
    expect(Object.values(states).reduce((sum, count) => sum + count, 0)).toBeGreaterThan(250);
    expect(output).toMatch(
      /sends: \d+ sent, [1-9]\d* refused by the SDK \(suppressed recipients\), 1 refused by Resend/,
    );
    expect(output).toMatch(/webhooks: \d+ delivered to the API \([1-9]\d* duplicates, \d+ retried, 0 failed\)/);
    // Some webhooks are lost on purpose; every notification still reached its planned state (the
    // demo says so otherwise), the ones they left behind healed by the sweeper.
    expect(output).toMatch(/lost webhooks: [1-9]\d* never posted \(8%\); sweeper: [1-9]\d* notifications healed/);
    expect(output).not.toContain("had not reached their planned state");
    expect(output).toMatch(/bypass sends: [1-9]\d* password resets warned/);
    // The spammy category: sent until the reputation guard refuses it (1% complaint limit, 5% drawn).
    expect(output).toMatch(
      /reputation guard: [1-9]\d* promo sends, then refused: complaint_rate \d+\.\d{2}% over the 1% limit \(tenant \S+, category promo\)/,
    );
    expect(output).toContain(`support page:  http://localhost:${port}/support`);
    expect(output).toMatch(/reputation: {4}http:\/\/localhost:\d+\/support\/reputation\?tenant=\S+/);
    expect(output).toContain(`Bull Board:    http://localhost:${port}/admin/queues`);
    expect(output).toMatch(/credentials: {3}ops \/ \S{8,} {3}\(OPS_USERNAME \/ OPS_PASSWORD\)/);
  }, 90_000);
});

describe("pnpm demo, then Ctrl-C", () => {
  it.each([
    ["while it sends", "sending 60 emails"],
    ["once it says it runs", "running; Ctrl-C to stop"],
  ])(
    "input: SIGINT to the process group of `pnpm demo` (as a terminal sends Ctrl-C) %s → exit 0, the API and the worker stopped, no ELIFECYCLE",
    async (_, moment) => {
      // A process group of its own, like a terminal's foreground job.
      const demo = spawn("pnpm", ["demo", "--count", "60", "--seed", "7"], {
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
        env: demoEnv(await freePort()),
      });
      let output = "";
      demo.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
      demo.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => demo.on("exit", (code) => resolve(code)));
      try {
        await waitUntil(`the demo to say "${moment}"`, () => output.includes(moment), 100_000, {
          intervalMs: 200,
          detail: () => output,
        });
      } catch (error) {
        process.kill(-(demo.pid as number), "SIGKILL");
        throw error;
      }
      process.kill(-(demo.pid as number), "SIGINT");
      expect({ code: await exited, output }).toEqual({ code: 0, output: expect.not.stringContaining("ELIFECYCLE") });
      // The demo stopped its processes itself: none of them ended on its own.
      expect(output).not.toMatch(/demo: (api|worker) exited/);
    },
    150_000,
  );
});
