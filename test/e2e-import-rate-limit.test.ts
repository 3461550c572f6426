// `mailstate import` beside a running worker: its calls to Resend take their slots from the rate
// limiter of the worker's `resend` queue (in Redis), so the two together stay within RESEND_API_RPS.
// The worker and the import run as processes of their own, as they do in production (and so that
// neither holds up the stand-in's clock); what reached Resend is read from the stand-in's request log.
import { randomUUID } from "node:crypto";
import { type MailstateStack, mailstateSystem } from "@mailstate/api/testing";
import { addJobs, jobIdFor } from "@mailstate/queue";
import { createResendStandin, type ResendStandin } from "@mailstate/resend-standin";
import { spawnProcess, startStack, waitUntil } from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const RESEND_KEY = "re_import_limit_test_key";
const RPS = 5;
let stack: MailstateStack;
let standin: ResendStandin;
const resendEnv = () => ({ RESEND_API_KEY: RESEND_KEY, RESEND_BASE_URL: standin.url, RESEND_API_RPS: String(RPS) });

beforeAll(async () => {
  standin = await createResendStandin({ apiKey: RESEND_KEY });
  stack = await startStack("e2e_import_limit", mailstateSystem);
  await stack.spawnWorker(resendEnv()).waitFor(/worker ready/);
});
afterAll(async () => {
  await stack?.close();
  await standin?.close();
});

/**
 * BullMQ's limiter is a fixed window: opened by its first slot, closed 1 s later, at most RPS slots
 * in it. A call reaches Resend a little after its slot was taken (here up to some tens of ms: a
 * database read in the worker's job, a busy event loop), so the test counts the calls that arrive
 * within 600 ms of each other: such calls took their slots in one window when the windows are busy,
 * as they are here (each window's slots go at its start), and a call would have to arrive 400 ms
 * late to be counted with the next window's. (Within any 1 s, calls of two windows can arrive: the
 * end of one, the start of the next. That holds for the worker's calls alone, and is the limiter's
 * rule.) Pacing of its own, as the import had, puts 8 or more calls in such a span.
 */
const SPAN_MS = 600;

/** The most calls that arrive within `spanMs` of the first of them, and their times. */
function busiest(times: number[], spanMs: number): number[] {
  const sorted = [...times].sort((a, b) => a - b);
  let most: number[] = [];
  for (const [index, from] of sorted.entries()) {
    const span = sorted.slice(index).filter((at) => at < from + spanMs);
    if (span.length > most.length) most = span;
  }
  return most;
}

describe("mailstate import and the worker share RESEND_API_RPS", () => {
  it(`input: RESEND_API_RPS=${RPS}; the worker's resend queue busy with 25 emails.get calls while \`mailstate import\` lists 430 emails (5 pages) → at most ${RPS} calls reach Resend within any ${SPAN_MS} ms (one window of the shared limiter), the import's and the worker's together; the two ran side by side`, async () => {
    const tag = randomUUID().slice(0, 8);
    const polled = Array.from({ length: 30 }, (_, index) =>
      standin.addHistory({ to: `polled${index}-${tag}@example.com`, lastEvent: "sent" }),
    );
    for (let index = 0; index < 400; index += 1)
      standin.addHistory({
        to: `history${index}-${tag}@example.com`,
        createdAt: new Date(Date.now() - 3_600_000 - index * 60_000),
      });
    const notifications: { notificationId: string; emailId: string }[] = [];
    for (const email of polled) {
      const answer = await stack.call("POST", "/v1/notifications", {
        to: email.to,
        from: email.from,
        subject: email.subject,
        resendEmailId: email.id,
      });
      expect(answer.status).toBe(201);
      notifications.push({ notificationId: answer.body.notification.id, emailId: email.id });
    }
    const poll = (some: typeof notifications) =>
      addJobs(
        stack.queues,
        "resend.get-email",
        some.map((payload) => ({ payload, jobId: jobIdFor("poll", `${payload.notificationId}-${tag}`) })),
      );
    // The worker's first calls open its database connections: a warm-up, left out of the count.
    await poll(notifications.slice(0, 5));
    await waitUntil("the warm-up's 5 calls", () => standin.routeCalls.get("GET /emails/:id") === 5, 10_000);
    standin.requests.length = 0;
    standin.routeCalls.clear();

    await poll(notifications.slice(5));
    const run = spawnProcess("node", ["--import", "tsx", "apps/worker/src/commands/cli.ts", "import", "--json"], {
      PATH: process.env.PATH,
      DATABASE_URL: stack.databaseUrl,
      REDIS_URL: stack.redisUrl,
      QUEUE_PREFIX: stack.prefix,
      ...resendEnv(),
    });
    const code = await new Promise<number | null>((resolve) => run.child.once("exit", resolve));
    expect({ code, counts: run.output().match(/^\{"listed".*$/m)?.[0] }).toEqual({
      code: 0,
      counts: JSON.stringify({ listed: 430, imported: 400, known: 30 }),
    });
    await waitUntil(
      "the worker's 25 emails.get calls",
      () => (standin.routeCalls.get("GET /emails/:id") ?? 0) >= 25,
      30_000,
      { detail: () => `${standin.routeCalls.get("GET /emails/:id") ?? 0} so far` },
    );

    const calls = standin.requests.map((request) => ({ at: request.at, route: request.route }));
    const listing = calls.filter((call) => call.route === "GET /emails").map((call) => call.at);
    const polling = calls.filter((call) => call.route === "GET /emails/:id").map((call) => call.at);
    expect([listing.length, polling.length, calls.length]).toEqual([5, 25, 30]);
    // Side by side: the import listed while the worker still polled, and the other way round.
    expect(Math.min(...listing)).toBeLessThan(Math.max(...polling));
    expect(Math.min(...polling)).toBeLessThan(Math.max(...listing));
    const start = Math.min(...calls.map((call) => call.at));
    const most = busiest(
      calls.map((call) => call.at),
      SPAN_MS,
    );
    expect(
      most.length,
      `the busiest ${SPAN_MS} ms (ms from the first call): ${most.map((at) => at - start).join(", ")}; every call: ${calls
        .map((call) => `${call.at - start} ${call.route}`)
        .join(", ")}`,
    ).toBeLessThanOrEqual(RPS);
    // 30 calls, at most RPS a window: 6 windows, the last opened 5 s or more after the first (less
    // the delay of the first call's arrival).
    expect(Math.max(...calls.map((call) => call.at)) - start).toBeGreaterThanOrEqual(
      (calls.length / RPS - 1) * 1_000 - (1_000 - SPAN_MS),
    );
  });
});
