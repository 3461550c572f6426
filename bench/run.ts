// `pnpm bench`: the ingest and worker benchmarks (spawned, their printed lines parsed), an
// end-to-end run at a steady rate, and the synchronous design side by side with the queue, healthy,
// with PostgreSQL slow and with it down. Its headline is bench:lifecycle's: mailstate against the
// synchronous design and the tutorial peer of issue 27, with that floors. Writes BENCHMARKS.md.
// Env: BENCH_E2E_RATE (500), BENCH_E2E_SECONDS (18), BENCH_SKIP_SUBBENCH=1 (skip the two spawned ones).
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import os from "node:os";
import { benchmarksMarkdown, type Machine } from "./benchmarks-md.ts";
import { endToEndAndFaults } from "./end-to-end.ts";
import { subbenchFigures } from "./subbenches.ts";

/** Read once here: these knobs are the run's, not a build input. */
const env = process.env;

const E2E_RATE = Number(env.BENCH_E2E_RATE ?? 500);
const E2E_SECONDS = Number(env.BENCH_E2E_SECONDS ?? 18);

const cpus = os.cpus();
const machine: Machine = {
  cpu: cpus[0]?.model.trim() ?? "unknown",
  cores: cpus.length,
  memoryGiB: (os.totalmem() / 2 ** 30).toFixed(1),
  node: process.version,
  date: new Date().toISOString(),
  load: os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" "),
  postgres: "",
  redis: "",
};
console.log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, node ${machine.node}`);

// --- 1 and 2: the existing benchmarks, spawned -----------------------------------------------------
const figures = await subbenchFigures(Boolean(env.BENCH_SKIP_SUBBENCH));

// --- 3: end to end, and the synchronous design beside it --------------------------------------------
const endToEnd = await endToEndAndFaults({ rate: E2E_RATE, seconds: E2E_SECONDS });
machine.postgres = endToEnd.versions.postgres;
machine.redis = endToEnd.versions.redis;

// --- BENCHMARKS.md --------------------------------------------------------------------------------
writeFileSync("BENCHMARKS.md", benchmarksMarkdown(machine, figures, endToEnd, E2E_RATE));
spawnSync("node_modules/.bin/biome", ["format", "--write", "BENCHMARKS.md"], { stdio: "ignore" });
console.log("\nwrote BENCHMARKS.md");
process.exit(0);
