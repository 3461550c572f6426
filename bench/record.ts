// `pnpm bench:record`: how fast the real API process records sends, and what each record costs it.
// A real API and worker (`apps/*/src/main.ts`, as `pnpm start` runs them) on a database and queue
// prefix of their own; POST /v1/notifications at 16 in flight, then POST /v1/notifications/batch
// with 100 per request. CPU is read from /proc for the API process (and for the worker, which runs
// whatever the records enqueue), so it is the process's own cost, whatever else shares the machine.
// Env: BENCH_RECORD_SINGLE (4000), BENCH_RECORD_BATCH (40000), BENCH_CPU_PROF=<dir> (a V8 CPU
// profile of the API process, written when it stops).
import { randomBytes, randomUUID } from "node:crypto";
import { freePort } from "@mailstate/test-support";
import { apiRequests, fire, type LoadResult, type PostRequest } from "./load.ts";
import { cpuSeconds } from "./proc-cpu.ts";
import { openBenchRun, sleep, startProcess, tearDownRun, waitHealthy } from "./processes.ts";

/** Read once here: the run's knobs, not a build input. */
const env = process.env;

const SINGLE = Number(env.BENCH_RECORD_SINGLE ?? 4_000);
const SINGLE_IN_FLIGHT = 16;
const BATCH_RECORDS = Number(env.BENCH_RECORD_BATCH ?? 40_000);
const BATCH_SIZE = 100;
const BATCHES_IN_FLIGHT = 4;
const API_KEY = "msk_bench_record_0123456789abcdef";
/** CPU a process has used so far (user + system, from /proc), in µs; zero once it is gone. */
const cpuMicros = (pid: number) => (cpuSeconds(pid) || 0) * 1e6;

const tag = randomBytes(3).toString("hex");
let sequence = 0;

/** One send as an application records it once Resend answered: its email id, an idempotency key, tags and metadata. */
function send() {
  sequence += 1;
  return {
    to: `user${sequence}@example.com`,
    from: "Acme <billing@acme.test>",
    subject: "Your receipt from Acme",
    tags: { category: "receipt", flow: "checkout" },
    category: "billing",
    metadata: { orderId: sequence, plan: "pro" },
    idempotencyKey: `receipt-${tag}-${sequence}`,
    resendEmailId: randomUUID(),
  };
}

const singles = (count: number) => apiRequests("/v1/notifications", Array.from({ length: count }, send), API_KEY);
const batches = (records: number) =>
  apiRequests(
    "/v1/notifications/batch",
    Array.from({ length: Math.ceil(records / BATCH_SIZE) }, () => ({
      notifications: Array.from({ length: BATCH_SIZE }, send),
    })),
    API_KEY,
  );

const run = await openBenchRun("record");
const port = await freePort();
const profileDir = env.BENCH_CPU_PROF;
const api = startProcess(
  "api",
  { ...run.env, PORT: String(port), API_KEYS: API_KEY },
  profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [],
);
const worker = startProcess("worker", run.env);

/** Until the worker has run every job the records enqueued. */
async function inboxDrained(): Promise<void> {
  for (let i = 0; i < 6_000; i += 1) {
    const counts = await run.queues.inbox.getJobCounts("waiting", "active", "delayed", "prioritized");
    if (Object.values(counts).every((count) => count === 0)) return;
    await sleep(50);
  }
  throw new Error("the inbox never drained");
}

/** The PostgreSQL backends serving this run's database (the API's and the worker's connections). */
async function backends(): Promise<number[]> {
  const { rows } = await run.pool.query<{ pid: number }>(
    "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    [run.database],
  );
  return rows.map((row) => row.pid);
}

/** CPU of each of these processes, by pid. */
const cpuOf = (pids: number[]) => new Map(pids.map((pid) => [pid, cpuMicros(pid)]));

/**
 * Fire the requests; answers the load figures and the CPU per record of the API (over the
 * requests), and of the worker and PostgreSQL's backends (until the worker ran what they enqueued).
 */
async function measure(requests: PostRequest[], records: number, path: string, concurrency: number) {
  const pids = { api: api.pid ?? 0, worker: worker.pid ?? 0 };
  const before = { api: cpuMicros(pids.api), worker: cpuMicros(pids.worker), postgres: cpuOf(await backends()) };
  const generatorBefore = process.cpuUsage();
  const load = await fire(port, requests, { path, concurrency });
  const after = cpuMicros(pids.api);
  const generator = process.cpuUsage(generatorBefore);
  await inboxDrained();
  const drained = cpuMicros(pids.worker);
  // A backend opened during the run counts from zero.
  let postgres = 0;
  for (const [pid, used] of cpuOf(await backends())) postgres += used - (before.postgres.get(pid) ?? 0);
  const perRecord = (micros: number) => micros / records;
  return {
    load,
    apiPerRecord: perRecord(after - before.api),
    workerPerRecord: perRecord(drained - before.worker),
    postgresPerRecord: perRecord(postgres),
    generatorPerRecord: perRecord(generator.user + generator.system),
  };
}

const statuses = (load: LoadResult) =>
  Object.entries(load.statuses)
    .map(([status, count]) => `${status}×${count}`)
    .join(", ");

function report(label: string, records: number, result: Awaited<ReturnType<typeof measure>>) {
  const { load } = result;
  console.log(
    `${label}: ${records} records in ${load.seconds.toFixed(1)} s, ${Math.round(records / load.seconds)} records/s, ` +
      `p50 ${load.p50.toFixed(1)} ms p99 ${load.p99.toFixed(1)} ms per request, ` +
      `API CPU ${Math.round(result.apiPerRecord)} µs/record, ` +
      `worker CPU ${Math.round(result.workerPerRecord)} µs/record, ` +
      `PostgreSQL CPU ${Math.round(result.postgresPerRecord)} µs/record, ` +
      `load generator CPU ${Math.round(result.generatorPerRecord)} µs/record ` +
      `(${statuses(load)})`,
  );
}

try {
  await waitHealthy(port);
  await sleep(2_000); // the worker's boot
  // Warm-up, not measured: the JIT, the pools, the statements.
  await fire(port, singles(500), { path: "/v1/notifications", concurrency: SINGLE_IN_FLIGHT });
  await fire(port, batches(1_000), { path: "/v1/notifications/batch", concurrency: BATCHES_IN_FLIGHT });
  await inboxDrained();

  report("record single", SINGLE, await measure(singles(SINGLE), SINGLE, "/v1/notifications", SINGLE_IN_FLIGHT));
  const batchRequests = batches(BATCH_RECORDS);
  report(
    "record batch",
    batchRequests.length * BATCH_SIZE,
    await measure(batchRequests, batchRequests.length * BATCH_SIZE, "/v1/notifications/batch", BATCHES_IN_FLIGHT),
  );
  console.log(
    `method: ${SINGLE_IN_FLIGHT} single records in flight; batches of ${BATCH_SIZE}, ${BATCHES_IN_FLIGHT} in flight; ` +
      `each record new (its own idempotency key and Resend email id, nothing parked); ` +
      "CPU = utime + stime from /proc/<pid>/stat, API over the requests, " +
      "worker and the database's PostgreSQL backends until the inbox drained",
  );
} catch (error) {
  console.error(error);
  process.exitCode = 1;
}
// Also when a phase failed: no API or worker outlives the run.
await tearDownRun(run);
