// `pnpm bench:hostile`: what hostile URLs cost. (1) Redacting a 16 KB URL for the request log, now
// and with the former single regex. (2) Signed webhooks at a steady rate into a real API process
// with a real worker, Redis and PostgreSQL: alone, during a flood of 15 KB paths from 8 clients
// (answered 414 by the URL cap), and during the same flood with the cap raised above it (so every
// long URL is routed, answered 401 and logged through the redaction).
// Env: BENCH_HOSTILE_RATE (300 webhooks/s), BENCH_HOSTILE_SECONDS (8 per phase).
import { Agent, request } from "node:http";
import { performance } from "node:perf_hooks";
import { freePort, makeWorkload } from "@mailstate/test-support";
import { redactAddresses } from "../apps/api/src/http/redact.ts";
import { fire, type LoadResult, sign } from "./load.ts";
import { insertSends, openBenchRun, sleep, startProcess, tearDownRun, waitHealthy } from "./processes.ts";

/** Read once here: these knobs are the run's, not a build input. */
const env = process.env;
const RATE = Number(env.BENCH_HOSTILE_RATE ?? 300);
const SECONDS = Number(env.BENCH_HOSTILE_SECONDS ?? 8);
const FLOOD_CLIENTS = 8;
const FLOOD_PATH_BYTES = 15 * 1024;

// --- 1: redaction -------------------------------------------------------------------------------
function medianMs(fn: () => void, runs: number): number {
  const times = Array.from({ length: runs }, () => {
    const started = performance.now();
    fn();
    return performance.now() - started;
  }).sort((a, b) => a - b);
  return times[Math.floor(runs / 2)] ?? Number.NaN;
}
const tail = "/x@y.z?email=a%40b.c&q=d@e#f@g";
const url16k = `/v1/notifications/${"a".repeat(16 * 1024 - tail.length - 18)}${tail}`;
const formerRegex = (url: string) => url.replace(/[^/?&=#]*(?:@|%40)[^/?&=#]*/gi, "[address]");
const redactNow = medianMs(() => redactAddresses(url16k), 501);
const redactFormer = medianMs(() => formerRegex(url16k), 5);
console.log(
  `redaction 16 KB URL: now ${redactNow.toFixed(3)} ms (median of 501); former regex ${redactFormer.toFixed(1)} ms (median of 5)`,
);

// --- 2: webhooks with and without a flood ---------------------------------------------------------
/** 8 clients sending GET <15 KB path> back to back until stopped; their statuses and count. */
function flood(port: number): { stop(): Promise<{ requests: number; statuses: Record<string, number> }> } {
  const agent = new Agent({ keepAlive: true, maxSockets: FLOOD_CLIENTS });
  const path = `/v1/notifications/${"a".repeat(FLOOD_PATH_BYTES - 18)}`;
  const statuses: Record<string, number> = {};
  let running = true;
  let requests = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const req = request({ host: "127.0.0.1", port, path, method: "GET", agent }, (res) => {
        res.resume();
        res.on("end", () => {
          statuses[String(res.statusCode)] = (statuses[String(res.statusCode)] ?? 0) + 1;
          resolve();
        });
      });
      req.on("error", () => {
        statuses.error = (statuses.error ?? 0) + 1;
        resolve();
      });
      req.end();
    });
  const clients = Array.from({ length: FLOOD_CLIENTS }, async () => {
    while (running) {
      await one();
      requests += 1;
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(clients);
      agent.destroy();
      return { requests, statuses };
    },
  };
}

const run = await openBenchRun("hostile");
const { pool } = run;
const perPhase = RATE * SECONDS;
const phases = ["alone", "flood414", "floodLogged"] as const;
const workloads = Object.fromEntries(
  phases.map((phase) => [
    phase,
    makeWorkload({ notifications: perPhase / 10, eventsPerNotification: 10, label: phase }),
  ]),
);
for (const workload of Object.values(workloads)) {
  await insertSends(
    pool,
    workload.notifications.map((n) => n.emailId),
  );
}
// Production's level on the API: the request logger writes (and redacts) every routed request.
const apiEnv = { ...run.env, LOG_LEVEL: "info" };
const capped = await freePort();
const uncapped = await freePort();
startProcess("api", { ...apiEnv, PORT: String(capped) });
startProcess("api", { ...apiEnv, PORT: String(uncapped), MAX_URL_LENGTH: "16384" });
startProcess("worker", run.env);
await Promise.all([waitHealthy(capped, "/readyz"), waitHealthy(uncapped, "/readyz")]);
await sleep(2_000); // the worker's boot
await fire(capped, sign(makeWorkload({ notifications: 50, eventsPerNotification: 10, label: "warm" }).events), {
  concurrency: 16,
});

async function phase(port: number, label: (typeof phases)[number], withFlood: boolean) {
  const flooding = withFlood ? flood(port) : undefined;
  if (flooding) await sleep(500); // the flood at full pace before the first webhook
  const result: LoadResult = await fire(port, sign(workloads[label]?.events ?? []), { rate: RATE, concurrency: 64 });
  const floodResult = await flooding?.stop();
  return { result, flood: floodResult };
}
const alone = await phase(capped, "alone", false);
const flood414 = await phase(capped, "flood414", true);
const floodLogged = await phase(uncapped, "floodLogged", true);

const fmt = (n: number) => n.toFixed(1);
const report = (
  name: string,
  run: { result: LoadResult; flood?: { requests: number; statuses: Record<string, number> } },
) =>
  console.log(
    `${name}: webhooks ${run.result.requests} at ${RATE}/s p50 ${fmt(run.result.p50)} ms p99 ${fmt(run.result.p99)} ms max ${fmt(run.result.max)} ms statuses ${JSON.stringify(run.result.statuses)}` +
      (run.flood
        ? `; flood ${run.flood.requests} requests (${fmt(run.flood.requests / run.result.seconds)}/s) statuses ${JSON.stringify(run.flood.statuses)}`
        : ""),
  );
report("webhooks alone", alone);
report("webhooks + flood, cap 8192", flood414);
report("webhooks + flood, cap 16384", floodLogged);

// --- cleanup --------------------------------------------------------------------------------------
await tearDownRun(run);
