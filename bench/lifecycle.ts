// `pnpm bench:lifecycle`: what one email costs the whole system, mailstate against two peers served
// by `bench/sync-server.ts`: the synchronous design (sync: the event inserted into mailstate's event
// table and the row updated, in the request) and the tutorial design of issue 27 (tutorial: a
// `processed_events` dedup insert and one last-write-wins UPDATE, in the request), on this one box, in one run.
//
// Lifecycle: record EMAILS sends (one POST each, 16 in flight), then their webhooks (sent, delivered,
// opened) at RATE/s, until every event is applied. The CPU of every process of the design (the API
// and the worker, or the peer's server; Redis; PostgreSQL's postmaster and all its backends) is read
// from /proc before and after, so nothing the design makes another process do is left out.
// Ingest: then, as fast as 32 connections go, webhooks for sends already recorded, the worker
// running (mailstate) or the transaction inside the request (the peers). CPU per webhook is issue 27's:
// the whole CPU, the records included, over the webhooks (3 per email).
// Env: BENCH_LIFECYCLE_EMAILS (2000), BENCH_LIFECYCLE_RATE (500), BENCH_INGEST_REQUESTS (6000);
// BENCH_CPU_PROF=<dir> writes V8 CPU profiles of the API and the worker there (`--cpu-prof`), and
// BENCH_DESIGNS (sync,tutorial,mailstate,mailstate-traced-10,mailstate-traced-100) names the designs
// measured, in that order; the traced ones are mailstate with OpenTelemetry on, keeping 10% and 100%
// (and, only when named, mailstate-traced-0: on, keeping nothing);
// BENCH_ROUNDS (1) measures them all that many times over, and each ratio is the median of the rounds'.
import { freePort, type WorkloadEvent } from "@mailstate/test-support";
import { emailId, LIFECYCLE_EVENTS, lifecycleWebhooks, recordBodies } from "./lifecycle-workload.ts";
import { apiRequests, fire, fmt, type LoadResult, median, sign } from "./load.ts";
import { cpuBetween, type ProcessSet, sampleCpu, totalCpu } from "./proc-cpu.ts";
import {
  appliedEvents,
  type BenchRun,
  closeRun,
  insertSends,
  openBenchRun,
  otlpSink,
  type SyncDesign,
  sharedServers,
  sleep,
  startProcess,
  startSyncServer,
  stopProcesses,
  waitApplied,
  waitHealthy,
} from "./processes.ts";

/** Read once here: these knobs are the run's, not a build input. */
const env = process.env;
const EMAILS = Number(env.BENCH_LIFECYCLE_EMAILS ?? 2_000);
const RATE = Number(env.BENCH_LIFECYCLE_RATE ?? 500);
const INGEST_REQUESTS = Number(env.BENCH_INGEST_REQUESTS ?? 6_000);
const PROFILE_ARGS = env.BENCH_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${env.BENCH_CPU_PROF}`] : [];
const ROUNDS = Math.max(1, Number(env.BENCH_ROUNDS ?? 1));
const DESIGNS = (env.BENCH_DESIGNS ?? "sync,tutorial,mailstate,mailstate-traced-10,mailstate-traced-100").split(",");
const RECORD_CONCURRENCY = 16;
const INGEST_CONCURRENCY = 32;
/** How a design is started, and how the bench tells it has applied the webhooks it answered. */
interface Design {
  name: string;
  start(run: BenchRun): Promise<{ port: number; processes: ProcessSet }>;
  /** Mailstate: an event counts once in the log with the inbox empty. */
  queue: boolean;
  /** The relation with a row per webhook applied. */
  table: "event_log" | "processed_events";
  /** What a notification's row says once its sent, delivered and opened are applied (SQL). */
  projected: string;
}

/** Notifications whose projection is not what their webhooks say. */
async function wrongProjections(run: BenchRun, design: Design, label: string): Promise<number> {
  const { rows } = await run.pool.query(
    `SELECT count(*) FROM notifications WHERE resend_email_id LIKE $1 AND NOT (${design.projected})`,
    [`re_${label}_%`],
  );
  return Number(rows[0]?.count ?? -1);
}

interface DesignResult {
  name: string;
  cpu: Record<string, number>;
  /** The part of `cpu` the records took (before the first webhook). */
  recordsCpu: Record<string, number>;
  records: LoadResult;
  webhooks: LoadResult;
  wrong: number;
  ingest: LoadResult;
  ingestDrainMs: number;
}

async function measure(design: Design): Promise<DesignResult> {
  const { name } = design;
  const label = name.slice(0, 4);
  const run = await openBenchRun(`life${label}`, { poolSize: 1 });
  const { port, processes } = await design.start(run);
  const all = { ...processes, ...(await sharedServers(run)) };

  // Warm-up, not measured: the same path, so the JIT and the pools are as in production.
  const warm = `${label}w`;
  await fire(port, apiRequests("/v1/notifications", recordBodies(warm, 200)), { concurrency: RECORD_CONCURRENCY });
  await fire(port, sign(lifecycleWebhooks(warm, 200)), { concurrency: 32 });
  await waitApplied(run, 600, design);
  // PostgreSQL's checkpointer (one of the backends counted) writes out what came before: the
  // warm-up's pages and the previous design's. Done now, that work is nobody's measured CPU.
  await run.pool.query("CHECKPOINT").catch(() => undefined);

  const before = sampleCpu(all);
  const records = await fire(port, apiRequests("/v1/notifications", recordBodies(label, EMAILS)), {
    concurrency: RECORD_CONCURRENCY,
  });
  const afterRecords = sampleCpu(all);
  const events = lifecycleWebhooks(label, EMAILS);
  const webhooks = await fire(port, sign(events), { rate: RATE, concurrency: 64 });
  // What was refused (a 503 while Redis stalled, say) is sent again, as Resend retries it.
  const again = webhooks.refused.map((index) => events[index] as WorkloadEvent);
  if (again.length > 0) await fire(port, sign(again), { concurrency: 8 });
  await waitApplied(run, 600 + EMAILS * LIFECYCLE_EVENTS.length, design);
  const end = sampleCpu(all);
  const cpu = cpuBetween(before, end);
  const recordsCpu = cpuBetween(before, afterRecords);
  const wrong = await wrongProjections(run, design, label);

  const ingestLabel = `${label}i`;
  const ingestEmails = INGEST_REQUESTS / LIFECYCLE_EVENTS.length;
  await insertSends(
    run.pool,
    Array.from({ length: ingestEmails }, (_, i) => emailId(ingestLabel, i)),
  );
  const applied = await appliedEvents(run, design.table);
  const ingest = await fire(port, sign(lifecycleWebhooks(ingestLabel, ingestEmails)), {
    concurrency: INGEST_CONCURRENCY,
  });
  const ingestDrainMs = await waitApplied(run, applied + INGEST_REQUESTS, design);

  await stopProcesses();
  await closeRun(run);
  return { name, cpu, recordsCpu, records, webhooks, wrong, ingest, ingestDrainMs };
}

function report(result: DesignResult): void {
  const perEmail = (seconds: number) => (seconds * 1_000) / EMAILS;
  const parts = Object.entries(result.cpu)
    .map(([process, seconds]) => `${process} ${fmt(perEmail(seconds))}`)
    .join(", ");
  const all = perEmail(totalCpu(result.cpu));
  const recording = perEmail(totalCpu(result.recordsCpu));
  const recordingParts = Object.entries(result.recordsCpu)
    .map(([process, seconds]) => `${process} ${fmt(perEmail(seconds))}`)
    .join(", ");
  console.log(
    `lifecycle ${result.name}: CPU ${fmt(all)} ms per email (${parts}), ` +
      `${fmt(all / LIFECYCLE_EVENTS.length)} ms per webhook (the records included); ` +
      `of which recording ${fmt(recording)} ms per email (${recordingParts}), webhooks ${fmt((all - recording) / LIFECYCLE_EVENTS.length)} ms each; ` +
      `records ${fmt(result.records.rps, 0)}/s; ` +
      `webhooks p99 ${fmt(result.webhooks.p99, 1)} ms; wrong projections ${result.wrong}; ` +
      `statuses ${JSON.stringify({ ...result.records.statuses, ...result.webhooks.statuses })}` +
      (result.webhooks.refused.length > 0 ? ` (the ${result.webhooks.refused.length} refused sent again)` : ""),
  );
  console.log(
    `ingest ${result.name}: ${fmt(result.ingest.rps, 0)} req/s p50 ${fmt(result.ingest.p50, 1)} ms ` +
      `p99 ${fmt(result.ingest.p99, 1)} ms, ${INGEST_CONCURRENCY} connections, applied ${result.ingestDrainMs} ms after; ` +
      `statuses ${JSON.stringify(result.ingest.statuses)}`,
  );
}

console.log(
  `lifecycle: ${EMAILS} emails recorded (${RECORD_CONCURRENCY} in flight), then sent, delivered, opened at ${RATE}/s; ` +
    `ingest: ${INGEST_REQUESTS} webhooks, ${INGEST_CONCURRENCY} connections`,
);
/** The synchronous design or the tutorial peer: one process, bench/sync-server.ts. */
const peer = (name: SyncDesign, projected: string): Design => ({
  name,
  async start(run) {
    const server = await startSyncServer(run.env.DATABASE_URL ?? "", name);
    return { port: server.port, processes: { server: { pid: server.child.pid ?? 0 } } };
  },
  queue: false,
  table: name === "tutorial" ? "processed_events" : "event_log",
  projected,
});
const designs: Design[] = [
  peer("sync", "state = 'delivered' AND open_count = 1"),
  // The tutorial keeps no open count: its row holds the last state-bearing event.
  peer("tutorial", "state = 'delivered'"),
  mailstate("mailstate", {}),
  // The same with OpenTelemetry on (OTLP/HTTP protobuf to a receiver in this process, which drops
  // what it gets: a collector's own CPU is not the system's), keeping 10% and 100% of the traces.
  mailstate("mailstate-traced-10", { OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.1" }),
  mailstate("mailstate-traced-0", { OTEL_TRACES_SAMPLER: "parentbased_always_off" }),
  mailstate("mailstate-traced-100", { OTEL_TRACES_SAMPLER: "parentbased_always_on" }),
];

/** mailstate's API and worker, with `extra` in their environment (tracing: with an OTLP receiver). */
function mailstate(name: string, extra: Record<string, string>): Design {
  return {
    name,
    async start(run) {
      const port = await freePort();
      const tracing: Record<string, string> =
        Object.keys(extra).length > 0 ? { OTEL_EXPORTER_OTLP_ENDPOINT: await otlpSink() } : {};
      const appEnv: Record<string, string> = { ...run.env, ...extra, ...tracing };
      const api = startProcess("api", { ...appEnv, PORT: String(port) }, PROFILE_ARGS);
      const worker = startProcess("worker", appEnv, PROFILE_ARGS);
      await waitHealthy(port);
      await sleep(2_000); // the worker's boot
      return { port, processes: { api: { pid: api.pid ?? 0 }, worker: { pid: worker.pid ?? 0 } } };
    },
    queue: true,
    table: "event_log",
    projected: "state = 'delivered' AND open_count = 1",
  };
}

// BENCH_ROUNDS (1) rounds of every design, one after the other: this box's noise moves one run's
// CPU by up to a third, so with several rounds each ratio below is the median of its rounds'.
const rounds: Map<string, DesignResult>[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const results = new Map<string, DesignResult>();
  for (const design of designs.filter((d) => DESIGNS.includes(d.name))) {
    const result = await measure(design);
    report(result);
    results.set(design.name, result);
  }
  rounds.push(results);
}

/** `of(a) / of(b)` in each round that has both, and the median of those. */
function ratio(a: string, b: string, of: (result: DesignResult) => number): { median: number; each: number[] } | null {
  const each = rounds.flatMap((results) => {
    const [x, y] = [results.get(a), results.get(b)];
    return x && y ? [of(x) / of(y)] : [];
  });
  return each.length === 0 ? null : { median: median(each), each };
}
const roundsOf = (r: { each: number[] }) =>
  r.each.length > 1 ? ` (median of ${r.each.map((each) => fmt(each)).join(", ")})` : "";
const lifecycleCpu = (result: DesignResult) => totalCpu(result.cpu);

for (const traced of ["mailstate-traced-10", "mailstate-traced-100"]) {
  const cpu = ratio(traced, "mailstate", lifecycleCpu);
  if (!cpu) continue;
  console.log(
    `tracing ${traced.slice("mailstate-traced-".length)}%: lifecycle CPU ${fmt(cpu.median)}× tracing off${roundsOf(cpu)}`,
  );
}
for (const peerName of ["sync", "tutorial"]) {
  const cpu = ratio("mailstate", peerName, lifecycleCpu);
  const rps = ratio("mailstate", peerName, (result) => result.ingest.rps);
  const p99 = ratio("mailstate", peerName, (result) => result.ingest.p99);
  if (!cpu || !rps || !p99) continue;
  console.log(
    `ratio mailstate/${peerName}: lifecycle CPU ${fmt(cpu.median)}×, ` +
      `ingest ${fmt(rps.median)}×, ingest p99 ${fmt(p99.median)}×${roundsOf(cpu)}`,
  );
}
process.exit(0);
