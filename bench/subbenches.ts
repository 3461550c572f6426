// The benchmarks `pnpm bench` spawns (each is also a `pnpm bench:*` of its own), run one after the
// other, and the figures read from the lines they print.
import { spawn } from "node:child_process";
import { median } from "./load.ts";

export const WORKER_ARGS = ["--events", "20000", "--notifications", "2000", "--rate", "1000", "--seconds", "10"];

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      process.stdout.write(chunk);
    });
    child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`${args.join(" ")} exited ${code}`))));
  });
}

function line(output: string, prefix: string): string {
  return output.split("\n").find((l) => l.startsWith(prefix)) ?? "";
}

/** The lines of `output` that start with these prefixes, in the prefixes' order; missing ones left out. */
function lines(output: string, prefixes: string[]): string[] {
  return prefixes.map((prefix) => line(output, prefix)).filter(Boolean);
}

/** Every line of `output` that starts with each prefix (bench:lifecycle prints one per round), in the prefixes' order. */
function everyLine(output: string, prefixes: string[]): string[] {
  const all = output.split("\n");
  return prefixes.flatMap((prefix) => all.filter((l) => l.startsWith(prefix)));
}

/** The median of a figure over the lines that start with `prefix` (one per round). */
function medianOf(output: string, prefix: string, pattern: RegExp): number {
  return median(everyLine(output, [prefix]).map((l) => num(l, pattern)));
}

function num(text: string, pattern: RegExp): number {
  return Number(pattern.exec(text)?.[1] ?? Number.NaN);
}

/** What each benchmark printed: all empty when they are skipped (BENCH_SKIP_SUBBENCH=1). */
type Outputs = Record<(typeof SUBBENCHES)[number]["name"], string>;

/** In the order they run. */
const SUBBENCHES = [
  { name: "lifecycle", title: "pnpm bench:lifecycle", args: ["bench/lifecycle.ts"] },
  { name: "record", title: "pnpm bench:record", args: ["bench/record.ts"] },
  { name: "ingest", title: "pnpm bench:ingest", args: ["apps/api/bench/ingest.ts"] },
  { name: "worker", title: "pnpm bench:worker", args: ["apps/worker/bench/worker.ts", ...WORKER_ARGS] },
  { name: "hostile", title: "pnpm bench:hostile", args: ["bench/hostile.ts"] },
  { name: "foreign", title: "pnpm bench:foreign", args: ["bench/foreign.ts"] },
  { name: "heavy", title: "pnpm bench:heavy", args: ["apps/worker/bench/heavy-notification.ts"] },
  { name: "cluster", title: "pnpm bench:cluster", args: ["bench/cluster.ts"] },
  { name: "storage", title: "pnpm bench:storage", args: ["bench/storage.ts"] },
  { name: "soak", title: "pnpm bench:soak", args: ["bench/soak.ts"] },
  {
    name: "worker90",
    title: "pnpm bench:worker --past-days 90",
    args: ["apps/worker/bench/worker.ts", ...WORKER_ARGS, "--past-days", "90"],
  },
] as const;

async function runSubbenches(skip: boolean): Promise<Outputs> {
  const out = Object.fromEntries(SUBBENCHES.map(({ name }) => [name, ""])) as Outputs;
  if (skip) return out;
  // The lifecycle designs are measured in 3 rounds unless BENCH_ROUNDS says otherwise: one run's
  // CPU moves by up to a third on a shared box, and the ratios BENCHMARKS.md quotes are medians.
  process.env.BENCH_ROUNDS ??= "3";
  for (const { name, title, args } of SUBBENCHES) {
    console.log(`\n== ${title} ==`);
    out[name] = await run(process.execPath, ["--import", "tsx", ...args]);
  }
  return out;
}

const DESIGNS = ["mailstate", "sync", "tutorial"] as const;
type Design = (typeof DESIGNS)[number];
/** One figure of each design's bench:lifecycle lines. */
const perDesign = <T>(of: (design: Design) => T) =>
  Object.fromEntries(DESIGNS.map((design) => [design, of(design)])) as Record<Design, T>;

/** The figures BENCHMARKS.md quotes, read from what the benchmarks printed ("n/a" where one did not run). */
function readFigures(out: Outputs) {
  const route = (prefix: string) => {
    const l = line(out.ingest, prefix);
    return {
      rps: num(l, /(\d+) req\/s/),
      p50: num(l, /p50\s+([\d.]+) ms/),
      p99: num(l, /p99\s+([\d.]+) ms/),
      cpu: num(l, /server CPU (\d+) µs/),
    };
  };
  const bare = route("bare route");
  const ingest = route("ingest route");
  const hostile = lines(out.hostile, [
    "redaction 16 KB URL:",
    "webhooks alone:",
    "webhooks + flood, cap 8192:",
    "webhooks + flood, cap 16384:",
  ]);
  const foreign = lines(out.foreign, ["broadcast:", "untagged:"]);
  const heavy = lines(out.heavy, ["heavy:", "cold:", "check:"]);
  const soak = out.soak.split("\n").filter((l) => /^(soak:|rss|api:|worker:) /.test(l));
  const storage = out.storage.split("\n").filter((l) => /^ {2}\w+: \d+ \(/.test(l) || l.startsWith("storage total:"));
  const worker90 = lines(out.worker90, ["backlog:", "steady:", "cpu:"]);
  const backlog = line(out.worker, "backlog:");
  const lifecycle = everyLine(out.lifecycle, [
    "lifecycle sync:",
    "lifecycle tutorial:",
    "lifecycle mailstate:",
    "ingest sync:",
    "ingest tutorial:",
    "ingest mailstate:",
    "ratio mailstate/sync:",
    "ratio mailstate/tutorial:",
  ]);
  // OpenTelemetry's cost: mailstate with tracing on (10% and 100% of traces kept) against itself off.
  const tracing = everyLine(out.lifecycle, [
    "lifecycle mailstate-traced-10:",
    "lifecycle mailstate-traced-100:",
    "tracing 10%:",
    "tracing 100%:",
  ]);
  const records = lines(out.record, ["record single:", "record batch:"]);
  const clusterLines = out.cluster.split("\n").filter((l) => l.startsWith("cluster "));
  // With several rounds (BENCH_ROUNDS), each design's figure is the median of its rounds'.
  const lifecycleCpu = (design: Design) => ({
    email: medianOf(out.lifecycle, `lifecycle ${design}:`, /CPU ([\d.]+) ms per email/),
    webhook: medianOf(out.lifecycle, `lifecycle ${design}:`, /([\d.]+) ms per webhook/),
  });
  const ingestOf = (design: Design) => ({
    rps: medianOf(out.lifecycle, `ingest ${design}:`, /(\d+) req\/s/),
    p99: medianOf(out.lifecycle, `ingest ${design}:`, /p99 ([\d.]+) ms/),
  });
  const headline = {
    cpu: perDesign(lifecycleCpu),
    ingest: perDesign(ingestOf),
    single: num(line(out.record, "record single:"), /(\d+) records\/s/),
    batch: num(line(out.record, "record batch:"), /(\d+) records\/s/),
    backlog: num(backlog, /= (\d+) events\/s/),
    lagP99: num(line(out.worker, "steady:"), /p99 (\d+) ms/),
  };
  const steadyWorker = line(out.worker, "steady:");
  return {
    bare,
    ingest,
    hostile,
    foreign,
    heavy,
    soak,
    storage,
    worker90,
    backlog,
    lifecycle,
    tracing,
    records,
    clusterLines,
    headline,
    steadyWorker,
  };
}
export type SubbenchFigures = ReturnType<typeof readFigures>;

export async function subbenchFigures(skip: boolean): Promise<SubbenchFigures> {
  return readFigures(await runSubbenches(skip));
}
