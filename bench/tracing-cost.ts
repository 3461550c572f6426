// `pnpm bench:tracing`: what tracing costs the whole system, measured so that less of this box's
// drift falls between the variants compared. On a shared box the CPU one run takes moves by a fifth
// or more from minute to minute, and `bench:lifecycle` measures one design for a minute, then the
// next: it needs many rounds to tell 1.1x from 1.2x. Here every variant (tracing off; on and
// keeping nothing; keeping 10%; keeping all) is a full mailstate, its API and worker with a
// database and a queue prefix of its own, all started at once and kept running; the load goes to
// one variant at a time in short slices, and the variants take turns, in an order drawn anew each
// round (seeded by the round: a run can be repeated), so that no variant always follows the same
// one and pays for what that one's load leaves behind (PostgreSQL's background work among it). Each
// slice is a lifecycle as `bench:lifecycle` runs it: EMAILS sends recorded (16 in flight), then
// their webhooks (sent, delivered, opened) at RATE/s, until every one is applied. With
// BENCH_TRACING_WORKLOAD=webhooks the sends are written to the table before the slice (not
// measured) and only the webhooks are: the CPU per webhook the issue names, without the recording
// path's. A slice's CPU is the loaded variant's API and worker, Redis, and PostgreSQL's postmaster
// and backends, read from /proc before and after (the idle variants' own processes are not counted;
// what they ask of Redis and PostgreSQL meanwhile is, alike for every variant). A variant's ratio
// is the median over the rounds of its slice's CPU over the tracing-off slice of the same round, a
// few seconds apart; it is given for the whole system and for the API and the worker alone (tracing
// adds no statement and no Redis command). The slices are short and the idle variants' background
// (their workers' polling, the bench's own drain checks) falls in them, so the CPU per email is
// higher than `bench:lifecycle`'s: compare the ratios. A round's ratio moves by a fifth or more on
// this box; the report gives the middle half of the rounds' ratios beside their median, so that a
// reader sees how far to trust it.
// Env: BENCH_TRACING_EMAILS (500 per slice), BENCH_TRACING_RATE (500 webhooks/s), BENCH_ROUNDS (8),
// BENCH_TRACING_VARIANTS (off,0,10,100: off, or the percentage of traces kept),
// BENCH_TRACING_WORKLOAD (lifecycle, or webhooks).
import { freePort, shuffle } from "@mailstate/test-support";
import { LIFECYCLE_EVENTS, lifecycleWebhooks, recordBodies } from "./lifecycle-workload.ts";
import { apiRequests, fire, fmt, median, percentile, sign } from "./load.ts";
import { cpuBetween, type ProcessSet, sampleCpu, totalCpu } from "./proc-cpu.ts";
import {
  type BenchRun,
  closeRun,
  insertSends,
  openBenchRun,
  otlpSink,
  sharedServers,
  sleep,
  startProcess,
  stopProcesses,
  waitApplied,
  waitHealthy,
} from "./processes.ts";

/** Read once here: these knobs are the run's, not a build input. */
const env = process.env;
const EMAILS = Number(env.BENCH_TRACING_EMAILS ?? 500);
const RATE = Number(env.BENCH_TRACING_RATE ?? 500);
const ROUNDS = Math.max(1, Number(env.BENCH_ROUNDS ?? 8));
const VARIANTS = (env.BENCH_TRACING_VARIANTS ?? "off,0,10,100").split(",").map((name) => name.trim());
const WORKLOAD = env.BENCH_TRACING_WORKLOAD ?? "lifecycle";
if (WORKLOAD !== "lifecycle" && WORKLOAD !== "webhooks")
  throw new Error(`BENCH_TRACING_WORKLOAD: ${WORKLOAD} is not lifecycle or webhooks`);
const WARM_UP_EMAILS = 200;

/** The environment of each variant: tracing off, or on with a sampler keeping that share of traces. */
function variantEnv(name: string): Record<string, string> | null {
  if (name === "off") return {};
  const percent = name === "" ? Number.NaN : Number(name);
  if (!Number.isFinite(percent) || percent < 0 || percent > 100) return null;
  if (percent === 0) return { OTEL_TRACES_SAMPLER: "parentbased_always_off" };
  if (percent === 100) return { OTEL_TRACES_SAMPLER: "parentbased_always_on" };
  return { OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: String(percent / 100) };
}

interface Variant {
  name: string;
  run: BenchRun;
  port: number;
  /** Its API and worker, Redis and PostgreSQL: what a slice of its load is measured on. */
  processes: ProcessSet;
  /** Events applied so far (the warm-up's and every round's). */
  applied: number;
}

async function startVariant(name: string, extra: Record<string, string>): Promise<Variant> {
  const run = await openBenchRun(`trace${name}`, { poolSize: 1 });
  const port = await freePort();
  const tracing: Record<string, string> = name === "off" ? {} : { OTEL_EXPORTER_OTLP_ENDPOINT: await otlpSink() };
  const appEnv = { ...run.env, ...extra, ...tracing };
  const api = startProcess("api", { ...appEnv, PORT: String(port) });
  const worker = startProcess("worker", appEnv);
  const processes = { api: { pid: api.pid ?? 0 }, worker: { pid: worker.pid ?? 0 }, ...(await sharedServers(run)) };
  return { name, run, port, processes, applied: 0 };
}

/** One slice of `emails` (their lifecycle, or their webhooks alone) into one variant; answers the CPU seconds of each of its processes. */
async function slice(v: Variant, tag: string, emails: number): Promise<Record<string, number>> {
  const label = `tr${v.name}${tag}`;
  const sends = recordBodies(label, emails);
  if (WORKLOAD === "webhooks")
    await insertSends(
      v.run.pool,
      sends.map((send) => send.resendEmailId),
    );
  const before = sampleCpu(v.processes);
  if (WORKLOAD === "lifecycle") await fire(v.port, apiRequests("/v1/notifications", sends), { concurrency: 16 });
  const result = await fire(v.port, sign(lifecycleWebhooks(label, emails)), { rate: RATE, concurrency: 64 });
  if (result.refused.length > 0) throw new Error(`${v.name}: ${result.refused.length} webhooks refused`);
  v.applied += emails * LIFECYCLE_EVENTS.length;
  await waitApplied(v.run, v.applied);
  return cpuBetween(before, sampleCpu(v.processes));
}

console.log(
  `tracing, variants side by side: ${VARIANTS.join(", ")}; ${ROUNDS} rounds, each a slice of ${EMAILS} emails ` +
    `(${WORKLOAD === "lifecycle" ? "recorded 16 in flight, then" : "their sends written beforehand, not measured;"} ` +
    `sent, delivered, opened at ${RATE}/s) to every variant in turn, in a new order each round`,
);
// Every name is checked before any process starts: a bad one must not leave the others running.
const envs = VARIANTS.map((name) => {
  const extra = variantEnv(name);
  if (!extra) throw new Error(`BENCH_TRACING_VARIANTS: ${name} is not off or a percentage from 0 to 100`);
  return extra;
});
const variants: Variant[] = [];
for (const [i, name] of VARIANTS.entries()) variants.push(await startVariant(name, envs[i] ?? {}));
for (const v of variants) await waitHealthy(v.port);
await sleep(2_000); // the workers' boot
// Warm-up, not measured: the same path, so the JIT and the pools are as in production.
for (const v of variants) await slice(v, "w", WARM_UP_EMAILS);

/** Per variant, per round: ms of CPU per email, by process. */
const perEmail = new Map<string, Record<string, number>[]>();
for (let r = 1; r <= ROUNDS; r++) {
  const order = [...variants];
  shuffle(order, r);
  for (const v of order) {
    const cpu = await slice(v, `r${r}`, EMAILS);
    const ms = Object.fromEntries(Object.entries(cpu).map(([name, seconds]) => [name, (seconds * 1_000) / EMAILS]));
    perEmail.set(v.name, [...(perEmail.get(v.name) ?? []), ms]);
  }
  console.log(
    `round ${r}, ms of CPU per email (api, worker, redis, postgres): ` +
      variants
        .map((v) => {
          const ms = perEmail.get(v.name)?.at(-1) ?? {};
          return `${v.name} ${fmt(totalCpu(ms))} (${[ms.api, ms.worker, ms.redis, ms.postgres].map((x) => fmt(x ?? Number.NaN)).join(", ")})`;
        })
        .join(" | "),
  );
}

/** How a variant is named in the report: "off", or the share it keeps ("10%"). */
const named = (name: string) => (name === "off" ? "off" : `${name}%`);
const baseName = VARIANTS[0] ?? "off";
const base = perEmail.get(baseName) ?? [];
const ratioOf = (rounds: Record<string, number>[], of: (ms: Record<string, number>) => number) =>
  median(rounds.map((ms, i) => of(ms) / of(base[i] ?? ms)));
/** mailstate's own processes, the ones tracing runs in (Redis and PostgreSQL do the same work in every variant). */
const own = (ms: Record<string, number>) => (ms.api ?? 0) + (ms.worker ?? 0);
for (const name of VARIANTS) {
  const rounds = perEmail.get(name) ?? [];
  const ratios = rounds.map((ms, i) => totalCpu(ms) / totalCpu(base[i] ?? ms));
  const sorted = [...ratios].sort((a, b) => a - b);
  console.log(
    `tracing ${named(name)}: whole-system CPU ${fmt(median(rounds.map(totalCpu)))} ms per email, ` +
      `${fmt(median(ratios))}× tracing ${named(baseName)}, ` +
      `the middle half of the rounds ${fmt(percentile(sorted, 25))}–${fmt(percentile(sorted, 75))} ` +
      `(api + worker ${fmt(ratioOf(rounds, own))}×: api ${fmt(ratioOf(rounds, (ms) => ms.api ?? 0))}×, ` +
      `worker ${fmt(ratioOf(rounds, (ms) => ms.worker ?? 0))}×; ` +
      `rounds ${ratios.map((ratio) => fmt(ratio)).join(", ")})`,
  );
}

await stopProcesses();
for (const v of variants) await closeRun(v.run);
process.exit(0);
