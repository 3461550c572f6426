// `pnpm bench:keys`: recording (POST /v1/notifications) with a tenant's key from api_keys against an
// admin key of API_KEYS, on a real API process, PostgreSQL and Redis. Prints both rates, the API's
// CPU per record with each, and what one cached key lookup costs in this process, as a share of
// the record path. Rounds alternate the two keys, so drift in the machine's load hits both alike.
// Env: BENCH_KEY_ROUNDS (4), BENCH_KEY_REQUESTS (1000 per key and round), BENCH_CONCURRENCY (16).
import { createDb } from "@mailstate/db";
import { createLogger } from "@mailstate/runtime";
import { freePort } from "@mailstate/test-support";
import { runCli } from "@mailstate/worker/testing";
import { createKeyLookup } from "../apps/api/src/v1/key-lookup.ts";
import { apiRequests, BENCH_API_KEY, fire } from "./load.ts";
import { cpuSeconds } from "./proc-cpu.ts";
import { openBenchRun, startProcess, tearDownRun, waitHealthy } from "./processes.ts";

const env = process.env;
const ROUNDS = Number(env.BENCH_KEY_ROUNDS ?? 4);
const PER_ROUND = Number(env.BENCH_KEY_REQUESTS ?? 1_000);
const CONCURRENCY = Number(env.BENCH_CONCURRENCY ?? 16);

type Which = "admin" | "tenant";

const records = (label: string, count: number) =>
  Array.from({ length: count }, (_, i) => ({
    to: `user${i}@bench.test`,
    from: "Acme <hello@acme.dev>",
    subject: "Your receipt",
    idempotencyKey: `${label}-${i}`,
    tags: { category: "receipt" },
  }));

/** µs per call of a cached lookup of a stored key, in this process. */
async function lookupMicros(databaseUrl: string, key: string): Promise<number> {
  const db = createDb({ databaseUrl, poolSize: 1 });
  const lookup = createKeyLookup({ db, envKeys: [BENCH_API_KEY], logger: createLogger("bench", "silent") });
  try {
    await lookup.find(key);
    const calls = 200_000;
    const started = performance.now();
    for (let i = 0; i < calls; i += 1) await lookup.find(key);
    return ((performance.now() - started) * 1_000) / calls;
  } finally {
    await db.$disconnect();
  }
}

const run = await openBenchRun("keys");
try {
  const out: string[] = [];
  const code = await runCli(
    ["keys", "create", "--tenant", "acme", "--name", "bench", "--json"],
    { DATABASE_URL: run.databaseUrl, REDIS_URL: run.env.REDIS_URL, QUEUE_PREFIX: run.prefix },
    { out: (line) => out.push(line), err: (line) => console.error(line) },
  );
  if (code !== 0) throw new Error(`keys create exited ${code}`);
  const keys: Record<Which, string> = { admin: BENCH_API_KEY, tenant: JSON.parse(out.at(-1) ?? "").key };

  const port = await freePort();
  // The rate limit stays on, counted in Redis for both keys alike, and is never reached.
  const api = startProcess("api", { ...run.env, PORT: String(port), API_RATE_LIMIT_RPS: "1000000" });
  await waitHealthy(port, "/readyz");
  const pid = api.pid ?? 0;

  const totals: Record<Which, { seconds: number; cpu: number; requests: number }> = {
    admin: { seconds: 0, cpu: 0, requests: 0 },
    tenant: { seconds: 0, cpu: 0, requests: 0 },
  };
  async function round(which: Which, label: string, count: number, counted: boolean): Promise<void> {
    const before = cpuSeconds(pid);
    const result = await fire(port, apiRequests("/v1/notifications", records(label, count), keys[which]), {
      concurrency: CONCURRENCY,
    });
    if ((result.statuses["201"] ?? 0) !== count) throw new Error(`${which}: ${JSON.stringify(result.statuses)}`);
    if (!counted) return;
    totals[which].seconds += result.seconds;
    totals[which].cpu += cpuSeconds(pid) - before;
    totals[which].requests += count;
  }
  // Warm-up: JIT, pools, the key cache.
  await round("admin", "warm-admin", 500, false);
  await round("tenant", "warm-tenant", 500, false);
  for (let index = 0; index < ROUNDS; index += 1) {
    const order: Which[] = index % 2 === 0 ? ["admin", "tenant"] : ["tenant", "admin"];
    for (const which of order) await round(which, `${which}-${index}`, PER_ROUND, true);
  }
  const rate = (which: Which) => totals[which].requests / totals[which].seconds;
  const cpuMicros = (which: Which) => (totals[which].cpu * 1_000_000) / totals[which].requests;
  const lookup = await lookupMicros(run.databaseUrl, keys.tenant);

  console.log(`recording, ${ROUNDS} rounds of ${PER_ROUND} per key, ${CONCURRENCY} in flight, one API process:`);
  for (const [which, name] of [
    ["admin", "admin key (API_KEYS)         "],
    ["tenant", "tenant key (api_keys, cached)"],
  ] as const) {
    console.log(`  ${name} ${rate(which).toFixed(0)} records/s   API CPU ${cpuMicros(which).toFixed(0)} µs/record`);
  }
  console.log(`  tenant / admin rate: ${((rate("tenant") / rate("admin")) * 100).toFixed(1)}%`);
  console.log(
    `  one cached lookup of a stored key: ${lookup.toFixed(2)} µs = ${((lookup / cpuMicros("tenant")) * 100).toFixed(2)}% of the record path's API CPU`,
  );
} finally {
  await tearDownRun(run);
}
