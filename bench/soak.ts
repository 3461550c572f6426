// `pnpm bench:soak`: does memory stay bounded under steady traffic? A real API and worker (as
// `pnpm start` runs them) get Resend's lifecycle webhooks (sent, delivered, opened for sends already
// recorded) at BENCH_SOAK_RATE/s (400) for BENCH_SOAK_SECONDS (180). Each process's RSS is read from
// /proc every 10 s and printed as a timeline, with the start, the plateau (the most over the last
// third) and the most. BENCH_HEAP_SNAPSHOTS=<dir> writes a V8 heap snapshot of each process there
// after the warm-up and again at the end (`--heapsnapshot-signal`), to compare what the heap holds.
// Env: BENCH_SOAK_RATE (400), BENCH_SOAK_SECONDS (180), BENCH_HEAP_SNAPSHOTS.
import { readFileSync } from "node:fs";
import { freePort } from "@mailstate/test-support";
import { emailId, LIFECYCLE_EVENTS, lifecycleWebhooks } from "./lifecycle-workload.ts";
import { fire, sign } from "./load.ts";
import { closeRun, insertSends, openBenchRun, sleep, startProcess, stopProcesses, waitHealthy } from "./processes.ts";

const env = process.env;
const RATE = Number(env.BENCH_SOAK_RATE ?? 400);
const SECONDS = Number(env.BENCH_SOAK_SECONDS ?? 180);
const SNAPSHOTS = env.BENCH_HEAP_SNAPSHOTS;
const SAMPLE_MS = 10_000;
const SNAPSHOT_ARGS = SNAPSHOTS ? ["--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${SNAPSHOTS}`] : [];

/** Resident set size of a process in MB, from /proc (0 once it is gone). */
function rssMb(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+) kB/m);
    return Math.round(Number(line?.[1] ?? 0) / 1024);
  } catch {
    return 0;
  }
}

const run = await openBenchRun("soak", { poolSize: 1 });
const port = await freePort();
const api = startProcess("api", { ...run.env, PORT: String(port) }, SNAPSHOT_ARGS);
const worker = startProcess("worker", run.env, SNAPSHOT_ARGS);
const pids = { api: api.pid ?? 0, worker: worker.pid ?? 0 };
await waitHealthy(port);
await sleep(2_000); // the worker's boot

const emails = Math.ceil((RATE * SECONDS) / LIFECYCLE_EVENTS.length);
await insertSends(
  run.pool,
  Array.from({ length: emails }, (_, i) => emailId("soak", i)),
);
// Warm-up, not measured: the JIT, the pools and the caches as in production.
await insertSends(
  run.pool,
  Array.from({ length: 500 }, (_, i) => emailId("soakw", i)),
);
await fire(port, sign(lifecycleWebhooks("soakw", 500)), { rate: RATE, concurrency: 64 });
const snapshot = () => {
  if (!SNAPSHOTS) return;
  for (const pid of Object.values(pids)) process.kill(pid, "SIGUSR2");
};
snapshot();

const timeline: { at: number; api: number; worker: number }[] = [];
const started = Date.now();
const sample = () => timeline.push({ at: Math.round((Date.now() - started) / 1_000), ...rssOf() });
const rssOf = () => ({ api: rssMb(pids.api), worker: rssMb(pids.worker) });
sample();
const sampler = setInterval(sample, SAMPLE_MS);
const webhooks = sign(lifecycleWebhooks("soak", emails)).slice(0, RATE * SECONDS);
const result = await fire(port, webhooks, { rate: RATE, concurrency: 256 });
clearInterval(sampler);
sample();
snapshot();
await sleep(SNAPSHOTS ? 15_000 : 0); // a snapshot of a few hundred MB takes seconds to write

console.log(
  `soak: ${result.requests} webhooks at ${RATE}/s for ${SECONDS} s: ${JSON.stringify(result.statuses)}, ` +
    `p50 ${result.p50.toFixed(1)} ms p99 ${result.p99.toFixed(1)} ms`,
);
console.log(
  `rss (MB) every ${SAMPLE_MS / 1_000} s: ${timeline.map((s) => `${s.at}s api ${s.api} worker ${s.worker}`).join("; ")}`,
);
const lastThird = timeline.filter((s) => s.at >= (SECONDS * 2) / 3);
for (const name of ["api", "worker"] as const) {
  const first = timeline[0]?.[name] ?? 0;
  const plateau = Math.max(...lastThird.map((s) => s[name]));
  const most = Math.max(...timeline.map((s) => s[name]));
  console.log(
    `${name}: rss ${first} MB at the start, ${plateau} MB on the plateau (the last third's most), ${most} MB at most`,
  );
}
if (SNAPSHOTS) console.log(`heap snapshots: ${SNAPSHOTS} (after the warm-up, then at the end)`);

await stopProcesses();
await closeRun(run);
process.exit(0);
