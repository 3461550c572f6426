// `pnpm bench:keys`: recording (POST /v1/notifications) with a tenant's key from api_keys against an
// admin key of API_KEYS, on a real API process, PostgreSQL and Redis. Prints both rates, the API's
// CPU per record with each, and what one cached key lookup costs in this process, as a share of
// the record path. Rounds alternate the two keys, so drift in the machine's load hits both alike.
import { readFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { createDb } from "@mailstate/db";
import { createLogger } from "@mailstate/runtime";
import { freePort } from "@mailstate/test-support";
import { runCli } from "@mailstate/worker/testing";
import { createKeyLookup } from "../apps/api/src/v1/key-lookup.ts";
import { openBenchRun, startProcess, tearDownRun, waitHealthy } from "./processes.ts";

const env = process.env;
const ROUNDS = Number(env.BENCH_KEY_ROUNDS ?? 4);
const PER_ROUND = Number(env.BENCH_KEY_REQUESTS ?? 1_000);
const CONCURRENCY = Number(env.BENCH_CONCURRENCY ?? 16);
const ADMIN_KEY = "msk_bench_admin_key_0123456789abcdef";

/** User + system CPU of a process so far, in µs (from /proc: the API runs in another process). */
function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1_000_000) / 100; // USER_HZ is 100 on Linux
}

interface Round {
  seconds: number;
  cpuMicros: number;
  statuses: Record<string, number>;
}

async function recordMany(port: number, pid: number, key: string, label: string, count: number): Promise<Round> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const statuses: Record<string, number> = {};
  let next = 0;
  const one = (index: number) =>
    new Promise<void>((resolve) => {
      const body = JSON.stringify({
        to: `user${index}@bench.test`,
        from: "Acme <hello@acme.dev>",
        subject: "Your receipt",
        idempotencyKey: `${label}-${index}`,
        tags: { category: "receipt" },
      });
      const req = request(
        {
          host: "127.0.0.1",
          port,
          path: "/v1/notifications",
          method: "POST",
          agent,
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        },
        (res) => {
          res.resume();
          res.on("end", () => {
            statuses[String(res.statusCode)] = (statuses[String(res.statusCode)] ?? 0) + 1;
            resolve();
          });
        },
      );
      req.on("error", () => {
        statuses.error = (statuses.error ?? 0) + 1;
        resolve();
      });
      req.end(body);
    });
  const cpuBefore = cpuMicros(pid);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let index = next++; index < count; index = next++) await one(index);
    }),
  );
  const seconds = (performance.now() - started) / 1_000;
  agent.destroy();
  return { seconds, cpuMicros: cpuMicros(pid) - cpuBefore, statuses };
}

/** µs per call of a cached lookup of a stored key, in this process. */
async function lookupMicros(databaseUrl: string, key: string): Promise<number> {
  const db = createDb({ databaseUrl, poolSize: 1 });
  const lookup = createKeyLookup({ db, envKeys: [ADMIN_KEY], logger: createLogger("bench", "silent") });
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
  const tenantKey: string = JSON.parse(out.at(-1) ?? "").key;

  const port = await freePort();
  const api = startProcess("api", {
    ...run.env,
    PORT: String(port),
    API_KEYS: ADMIN_KEY,
    // Counted in Redis for both keys alike, never reached.
    API_RATE_LIMIT_RPS: "1000000",
  });
  await waitHealthy(port, "/readyz");
  const pid = api.pid ?? 0;
  // Warm-up: JIT, pools, the key cache.
  await recordMany(port, pid, ADMIN_KEY, "warm-admin", 500);
  await recordMany(port, pid, tenantKey, "warm-tenant", 500);

  const totals = { admin: { seconds: 0, cpu: 0, requests: 0 }, tenant: { seconds: 0, cpu: 0, requests: 0 } };
  for (let round = 0; round < ROUNDS; round += 1) {
    const order = round % 2 === 0 ? (["admin", "tenant"] as const) : (["tenant", "admin"] as const);
    for (const which of order) {
      const result = await recordMany(
        port,
        pid,
        which === "admin" ? ADMIN_KEY : tenantKey,
        `${which}-${round}`,
        PER_ROUND,
      );
      if ((result.statuses["201"] ?? 0) !== PER_ROUND) throw new Error(`${which}: ${JSON.stringify(result.statuses)}`);
      totals[which].seconds += result.seconds;
      totals[which].cpu += result.cpuMicros;
      totals[which].requests += PER_ROUND;
    }
  }
  const rate = (which: "admin" | "tenant") => totals[which].requests / totals[which].seconds;
  const cpuPer = (which: "admin" | "tenant") => totals[which].cpu / totals[which].requests;
  const lookup = await lookupMicros(run.databaseUrl, tenantKey);

  console.log(`recording, ${ROUNDS} rounds of ${PER_ROUND} per key, ${CONCURRENCY} in flight, one API process:`);
  console.log(
    `  admin key (API_KEYS)         ${rate("admin").toFixed(0)} records/s   API CPU ${cpuPer("admin").toFixed(0)} µs/record`,
  );
  console.log(
    `  tenant key (api_keys, cached) ${rate("tenant").toFixed(0)} records/s   API CPU ${cpuPer("tenant").toFixed(0)} µs/record`,
  );
  console.log(`  tenant / admin rate: ${((rate("tenant") / rate("admin")) * 100).toFixed(1)}%`);
  console.log(
    `  one cached lookup of a stored key: ${lookup.toFixed(2)} µs = ${((lookup / cpuPer("tenant")) * 100).toFixed(2)}% of the record path's API CPU`,
  );
} finally {
  await tearDownRun(run);
}
