// Redis SIGKILLed and restarted (AOF, appendfsync always) five times while webhooks are posted:
// every event the API answered 200 for reaches the log, and the worker resumes within 10 s.
import { randomUUID } from "node:crypto";
import { waitUntil } from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkOutcome,
  type FaultStack,
  healthy,
  missingFromLog,
  outcomeFigures,
  postWebhook,
  report,
  scaled,
  sleep,
  startFaultStack,
  startPostingWorkload,
} from "./fault-stack.ts";

const EVENTS = scaled(5_000, 1_500);
const RATE = scaled(150, 100);
const RESTARTS = 5;

let stack: FaultStack;
beforeAll(async () => {
  stack = await startFaultStack("redis");
});
afterAll(async () => {
  await stack?.close();
});

/** Post probe events from the moment Redis is back: when is one accepted, and when is it logged? */
async function measureResume(baseUrl: string, redisBackAt: number) {
  const left = () => redisBackAt + 30_000 - Date.now();
  let svixId = "";
  await waitUntil(
    "the API to accept a webhook after Redis came back",
    async () => {
      svixId = `msg_probe_${randomUUID()}`;
      const body = { type: "contact.updated", created_at: new Date().toISOString(), data: { id: svixId } };
      return (await postWebhook(baseUrl, { svixId, emailId: "", body })) === 200;
    },
    left(),
  );
  const acceptedMs = Date.now() - redisBackAt;
  await waitUntil(
    "the worker to log an event after Redis came back",
    async () => (await missingFromLog(stack.sql, [svixId])).length === 0,
    left(),
    { intervalMs: 25 },
  );
  return { acceptedMs, resumedMs: Date.now() - redisBackAt };
}

describe("Redis killed and restarted five times while webhooks are posted", () => {
  it("keeps every event answered 200, and the worker resumes within 10 s each time", async () => {
    const { api, worker, workload, accepted, started, posting } = await startPostingWorkload(stack, {
      events: EVENTS,
      label: "redis",
      rate: RATE,
    });

    const outages: { downMs: number; acceptedMs: number; resumedMs: number }[] = [];
    for (let i = 0; i < RESTARTS; i += 1) {
      await sleep(2_000 + Math.random() * 2_000);
      const downAt = Date.now();
      await stack.redisServer.kill();
      await sleep(1_000 + Math.random() * 2_000);
      await stack.redisServer.start();
      const backAt = Date.now();
      try {
        outages.push({ downMs: backAt - downAt, ...(await measureResume(api.baseUrl, backAt)) });
      } catch (error) {
        console.log(`restart ${i + 1}: worker output (tail):\n${worker.output().slice(-6_000)}`);
        throw error;
      }
    }
    const statuses = await posting;
    const postSeconds = (Date.now() - started) / 1_000;

    const drainMs = await stack.drained(120_000, worker);
    const outcome = await checkOutcome(stack, workload);
    const { rows } = await stack.sql.query<{ count: string }>("SELECT count(*) FROM event_log");
    report("redis-restart", {
      events: workload.events.length,
      accepted_200: accepted.size,
      statuses: JSON.stringify(Object.fromEntries(statuses)),
      restarts: outages.length,
      down_ms: outages.map((o) => o.downMs).join("/"),
      api_accepting_ms: outages.map((o) => o.acceptedMs).join("/"),
      worker_resume_ms: outages.map((o) => o.resumedMs).join("/"),
      max_resume_ms: Math.max(...outages.map((o) => o.resumedMs)),
      post_seconds: postSeconds.toFixed(1),
      drain_after_ms: drainMs,
      logged_rows: rows[0]?.count ?? "?",
      ...outcomeFigures(outcome),
    });

    // Neither process died with Redis.
    expect(api.process.child.exitCode).toBeNull();
    expect(worker.child.exitCode).toBeNull();
    expect((await fetch(`${api.baseUrl}/healthz`)).status).toBe(200);
    expect(await missingFromLog(stack.sql, [...accepted])).toEqual([]);
    for (const outage of outages) expect(outage.resumedMs).toBeLessThan(10_000);
    expect(outcome).toEqual(healthy(workload));
  }, 600_000);
});
