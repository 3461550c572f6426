// `pnpm bench:worker`: how fast the worker reconciles, on this machine's real PostgreSQL and Redis.
// Phase 1 drains a backlog of N events for M notifications in full batch jobs, as a flat-out API
// leaves them (events reconciled per second); phase 2 writes events at a steady rate as the API
// does (batched for WEBHOOK_BATCH_WAIT_MS) and reports the lag from receipt to reconciled (p50/p99).
// Both phases also report the CPU time each process spent per event: the workers, redis-server and
// the PostgreSQL backends of the bench's database (read from /proc, so only on this machine).
// Options: --events 20000 --notifications 2000 --workers 1 --concurrency <WORKER_CONCURRENCY default>
//          --rate 1000 --seconds 10 --past-days 0 (day partitions of the event log for that many days
//          back, as a database under RETENTION_DAYS holds them; the workload's events fall in them)
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import os from "node:os";
import { parseArgs } from "node:util";
import { createDayPartition, createDb, createSqlPool } from "@mailstate/db";
import {
  addInboxBatch,
  createInboxWriter,
  createQueues,
  createRedis,
  INBOX_BATCH_MAX,
  type Queues,
} from "@mailstate/queue";
import {
  createMigratedDatabase,
  dropDatabase,
  makeWorkload,
  type Workload,
  type WorkloadEvent,
} from "@mailstate/test-support";
import { cpuSeconds } from "../../../bench/proc-cpu.ts";
import { loadApiEnv } from "../../api/src/env.ts";

const { values } = parseArgs({
  options: {
    events: { type: "string", default: "20000" },
    notifications: { type: "string", default: "2000" },
    workers: { type: "string", default: "1" },
    concurrency: { type: "string" },
    rate: { type: "string", default: "1000" },
    seconds: { type: "string", default: "10" },
    keep: { type: "boolean", default: false },
    "past-days": { type: "string", default: "0" },
  },
});
const EVENTS = Number(values.events);
const NOTIFICATIONS = Number(values.notifications);
const WORKERS = Number(values.workers);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const database = `mailstate_bench_${randomBytes(3).toString("hex")}`;
const prefix = `{mailstate-bench-${randomBytes(3).toString("hex")}}`;
const databaseUrl = await createMigratedDatabase(database);
const db = createDb({ databaseUrl, poolSize: 4 });
const PAST_DAYS = Number(values["past-days"]);
if (PAST_DAYS > 0) {
  const pool = createSqlPool({ databaseUrl, poolSize: 1 });
  for (let days = 1; days <= PAST_DAYS; days += 1) {
    const day = new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 10);
    for (const table of ["delivery_events", "engagement_events"]) await createDayPartition(pool, table, day);
  }
  await pool.end();
}
const redis = createRedis(redisUrl, "worker");
const queues = createQueues(redis, prefix);

/** Completed jobs stay, so the steady phase reads each one's finish time. */
const KEEP_COMPLETED = { removeOnComplete: { count: 100_000 } };
/** The API's batching: how long a webhook waits for others to share its job, and how many go at once. */
const { WEBHOOK_BATCH_WAIT_MS, WEBHOOK_BATCH_SIZE } = loadApiEnv({
  RESEND_WEBHOOK_SECRET: "whsec_YmVuY2gtb25seS1zZWNyZXQ=",
  ...process.env,
});

const payloadOf = (event: WorkloadEvent, receivedAt = new Date().toISOString()) => ({
  svixId: event.svixId,
  receivedAt,
  event: event.body as Record<string, unknown>,
});

/** The backlog as a flat-out API leaves it: full batch jobs. */
async function enqueue(target: Queues, events: WorkloadEvent[]) {
  const receivedAt = new Date().toISOString();
  for (let i = 0; i < events.length; i += INBOX_BATCH_MAX * 16) {
    const batches = [];
    for (let j = i; j < Math.min(events.length, i + INBOX_BATCH_MAX * 16); j += INBOX_BATCH_MAX) {
      batches.push(events.slice(j, j + INBOX_BATCH_MAX).map((event) => payloadOf(event, receivedAt)));
    }
    await Promise.all(batches.map((batch) => addInboxBatch(target, batch, KEEP_COMPLETED)));
  }
}

async function waitForLogged(count: number) {
  for (;;) {
    // The event log wherever each event lives (an applied open is in engagement_events).
    const [{ n }] = await db.$queryRaw<[{ n: number }]>`SELECT count(*)::int AS n FROM event_log`;
    if (n >= count) return;
    await sleep(25);
  }
}

/** Until no inbox job is waiting, active or delayed (logged rows commit with the rest of a batch). */
async function waitForIdle() {
  for (;;) {
    const counts = await queues.inbox.getJobCounts("waiting", "active", "delayed");
    if (Object.values(counts).every((count) => count === 0)) return;
    await sleep(25);
  }
}

async function recordAll({ notifications }: Workload) {
  await db.notification.createMany({
    data: notifications.map((n) => ({
      resendEmailId: n.emailId,
      recipients: n.recipients,
      from: "bench@acme.test",
      subject: "bench",
    })),
  });
}

/** A figure is only worth printing if the work was right: notifications off their expected state. */
async function wrongStates({ expected }: Workload): Promise<number> {
  const rows = await db.notification.findMany({
    where: { resendEmailId: { in: [...expected.keys()] } },
    select: { resendEmailId: true, state: true, openCount: true },
  });
  const right = rows.filter((row) => {
    const want = expected.get(row.resendEmailId ?? "");
    return want && want.state === row.state && want.opens === row.openCount;
  });
  return expected.size - right.length;
}

function percentile(sorted: number[], p: number) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** The latest CPU seconds of every backend of the bench's database seen so far: one that ends keeps its last figure. */
const backendCpu = new Map<number, number>();

/** The processes whose CPU time is reported: the workers, redis-server, and the bench database's backends. */
interface CpuSample {
  worker: number;
  redis: number;
  postgres: number;
}

async function cpuSample(workerPids: (number | undefined)[]): Promise<CpuSample> {
  const redisPid = Number(/process_id:(\d+)/.exec(await redis.info("server"))?.[1]);
  const backends = await db.$queryRaw<{ pid: number }[]>`
    SELECT pid FROM pg_stat_activity WHERE datname = current_database()`;
  for (const pid of [...backendCpu.keys(), ...backends.map((row) => row.pid)]) {
    const seconds = cpuSeconds(pid);
    if (!Number.isNaN(seconds)) backendCpu.set(pid, seconds);
  }
  const postgres = [...backendCpu.values()].reduce((total, seconds) => total + seconds, 0);
  const worker = workerPids.reduce<number>((total, pid) => total + (pid ? cpuSeconds(pid) : Number.NaN), 0);
  return { worker, redis: cpuSeconds(redisPid), postgres };
}

/** Milliseconds of CPU per event between two samples, per process. */
function cpuPerEvent(before: CpuSample, after: CpuSample, events: number): string {
  return (["worker", "redis", "postgres"] as const)
    .map((name) => `${name} ${(((after[name] - before[name]) * 1_000) / events).toFixed(2)}`)
    .join(", ");
}

function startWorkers() {
  return Array.from({ length: WORKERS }, () => {
    const profile = process.env.BENCH_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
    const child = spawn(process.execPath, [...profile, "--import", "tsx", "apps/worker/src/main.ts"], {
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl,
        REDIS_URL: redisUrl,
        QUEUE_PREFIX: prefix,
        ...(values.concurrency ? { WORKER_CONCURRENCY: values.concurrency } : {}),
        DATABASE_POOL_SIZE: "16",
        WORKER_METRICS_PORT: "0",
        LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "info",
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const ready = new Promise<void>((resolve) => {
      child.stdout.on("data", (chunk: Buffer) => {
        if (process.env.BENCH_LOG_LEVEL) process.stderr.write(chunk);
        if (chunk.toString().includes("worker ready")) resolve();
      });
    });
    return { child, ready };
  });
}

try {
  const workload = makeWorkload({
    notifications: NOTIFICATIONS,
    eventsPerNotification: Math.max(2, Math.round(EVENTS / NOTIFICATIONS)),
    label: "bench",
  });
  await recordAll(workload);
  const backlog = workload.events;
  let started = performance.now();
  await enqueue(queues, backlog);
  const enqueueSeconds = (performance.now() - started) / 1000;

  const workers = startWorkers();
  const workerPids = workers.map((worker) => worker.child.pid);
  await Promise.all(workers.map((worker) => worker.ready));
  let cpuBefore = await cpuSample(workerPids);
  started = performance.now();
  await waitForLogged(backlog.length);
  const drainSeconds = (performance.now() - started) / 1000;
  const backlogCpu = cpuPerEvent(cpuBefore, await cpuSample(workerPids), backlog.length);
  const throughput = backlog.length / drainSeconds;
  // Logged and applied commit together, but the figure counts only if every state is the fold's.
  await waitForIdle();
  const wrongAfterBacklog = await wrongStates(workload);

  // Phase 2: a steady rate, fresh notifications, each event written as the API writes it (batched
  // for WEBHOOK_BATCH_WAIT_MS); its lag runs from its receipt to its job's completion.
  const steady = makeWorkload({
    notifications: Math.ceil((RATE * SECONDS) / 10),
    eventsPerNotification: 10,
    label: "steady",
  });
  await recordAll(steady);
  const steadyEvents = steady.events.slice(0, RATE * SECONDS);
  const writer = createInboxWriter(queues, {
    maxWaitMs: WEBHOOK_BATCH_WAIT_MS,
    maxSize: WEBHOOK_BATCH_SIZE,
    extra: KEEP_COMPLETED,
  });
  const tick = 5;
  const perTick = Math.max(1, Math.round((RATE * tick) / 1000));
  const writes: Promise<string>[] = [];
  cpuBefore = await cpuSample(workerPids);
  started = performance.now();
  for (let i = 0; i < steadyEvents.length; i += perTick) {
    for (const event of steadyEvents.slice(i, i + perTick)) writes.push(writer.submit(payloadOf(event)));
    const due = started + ((i + perTick) / RATE) * 1000;
    await sleep(Math.max(0, due - performance.now()));
  }
  await Promise.all(writes);
  await waitForLogged(backlog.length + steadyEvents.length);
  const steadyCpu = cpuPerEvent(cpuBefore, await cpuSample(workerPids), steadyEvents.length);
  const lags: number[] = [];
  let steadyJobs = 0;
  for (let start = 0; ; start += 1_000) {
    const jobs = await queues.inbox.getJobs(["completed"], start, start + 999);
    if (jobs.length === 0) break;
    for (const job of jobs) {
      const events = (job.data.events ?? []) as { svixId: string; receivedAt: string }[];
      if (!job.finishedOn || !events[0]?.svixId.startsWith("msg_steady")) continue;
      steadyJobs += 1;
      for (const event of events) lags.push(job.finishedOn - Date.parse(event.receivedAt));
    }
  }
  lags.sort((a, b) => a - b);
  await waitForIdle();
  const wrong = wrongAfterBacklog + (await wrongStates(steady));
  const failed = (await queues.inbox.getJobCounts("failed")).failed ?? 0;

  for (const worker of workers) worker.child.kill("SIGTERM");
  const cpus = os.cpus();
  console.log(`machine: ${cpus.length} x ${cpus[0]?.model ?? "cpu"}, node ${process.version}`);
  if (PAST_DAYS > 0) console.log(`partitions: the event log's day partitions of the last ${PAST_DAYS} days made first`);
  console.log(
    `workers: ${WORKERS} process(es), concurrency ${values.concurrency ?? "default"} each, load average ${os
      .loadavg()
      .map((load) => load.toFixed(2))
      .join(" ")}`,
  );
  console.log(`enqueue: ${backlog.length} events in ${enqueueSeconds.toFixed(2)} s`);
  console.log(
    `backlog: ${backlog.length} events for ${NOTIFICATIONS} notifications reconciled in ${drainSeconds.toFixed(2)} s = ${Math.round(throughput)} events/s`,
  );
  console.log(
    `steady:  ${steadyEvents.length} events at ${RATE}/s: lag p50 ${percentile(lags, 50)} ms, p99 ${percentile(lags, 99)} ms, max ${lags.at(-1) ?? 0} ms (${lags.length} measured, from receipt: ${steadyJobs} jobs batched for up to ${WEBHOOK_BATCH_WAIT_MS} ms)`,
  );
  console.log(`cpu:     ms per event, backlog: ${backlogCpu}; steady: ${steadyCpu}`);
  console.log(
    `check:   ${wrong} notification(s) off their expected state, ${failed} failed job(s) of ${backlog.length + steadyEvents.length}`,
  );
  if (wrong > 0 || failed > 0) process.exitCode = 1;
} finally {
  await queues.inbox.obliterate({ force: true }).catch(() => {});
  await queues.unmatched.obliterate({ force: true }).catch(() => {});
  await queues.close();
  redis.disconnect();
  await db.$disconnect();
  if (!values.keep) await dropDatabase(database);
}
