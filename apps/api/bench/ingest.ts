// `pnpm bench:ingest`: POST /webhooks/resend against a bare body-reading route, same load, same machine.
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { BENCH_SECRET, type Delivery, fire, type LoadResult, sign } from "../../../bench/load.ts";

const TOTAL = Number(process.env.BENCH_REQUESTS ?? 5_000);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 1_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const PREFIX = `{mailstate-bench-${randomBytes(4).toString("hex")}}`;

/** Distinct `email.delivered` webhooks, signed now (the route refuses timestamps over five minutes old). */
function deliveries(count: number, label: string): Delivery[] {
  const now = new Date().toISOString();
  return sign(
    Array.from({ length: count }, (_, i) => {
      const emailId = `${randomBytes(4).toString("hex")}-02e9-4d39-ad75-9611e0fcc33c`;
      return {
        svixId: `msg_bench${label}${i.toString(36).padStart(6, "0")}${randomBytes(4).toString("hex")}`,
        emailId,
        body: {
          type: "email.delivered",
          created_at: now,
          data: {
            created_at: now,
            email_id: emailId,
            from: "Acme <onboarding@acme.dev>",
            to: [`user${i}@example.com`],
            subject: "Your receipt from Acme",
            tags: { category: "receipt" },
          },
        },
      };
    }),
  );
}

interface Server {
  port: number;
  /** Server CPU time (user + system) between two calls, in µs. */
  cpu(message: "mark" | "report"): Promise<number>;
  stop(): void;
}

function startServer(mode: "api" | "bare"): Promise<Server> {
  const child = fork(new URL("./server.ts", import.meta.url).pathname, [mode], {
    // BENCH_CPU_PROF=<dir> writes a V8 CPU profile of each server to <dir>, for chrome://inspect or speedscope.
    execArgv: [
      "--import",
      "tsx",
      ...(process.env.BENCH_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
    ],
    env: {
      ...process.env,
      NODE_ENV: "production",
      LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
      RESEND_WEBHOOK_SECRET: BENCH_SECRET,
      REDIS_URL,
      QUEUE_PREFIX: PREFIX,
    },
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`${mode} server exited with ${code}`)));
    child.once("message", (message: { port: number }) =>
      resolve({
        port: message.port,
        cpu: (message) =>
          new Promise((answer) => {
            if (message === "mark") {
              child.send(message);
              return answer(0);
            }
            child.once("message", (reply: { cpuMicros: number }) => answer(reply.cpuMicros));
            child.send(message);
          }),
        stop: () => child.kill("SIGTERM"),
      }),
    );
  });
}

/** A load run, with the server's CPU per request (µs): what the route costs, whatever else the machine does. */
type Run = LoadResult & { cpuPerRequest: number };

async function measure(mode: "api" | "bare", warmup: Delivery[], batch: Delivery[]): Promise<Run> {
  const server = await startServer(mode);
  try {
    await fire(server.port, warmup, { concurrency: CONCURRENCY });
    await server.cpu("mark");
    const run = await fire(server.port, batch, { concurrency: CONCURRENCY });
    return { ...run, cpuPerRequest: (await server.cpu("report")) / batch.length };
  } finally {
    server.stop();
  }
}

async function removeKeys(): Promise<number> {
  const redis = new Redis(REDIS_URL);
  let removed = 0;
  try {
    let cursor = "0";
    do {
      const [nextCursor, keys] = await redis.scan(cursor, "MATCH", `${PREFIX}:*`, "COUNT", 1_000);
      cursor = nextCursor;
      if (keys.length > 0) removed += await redis.unlink(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
  return removed;
}

const format = (run: Run) =>
  `${run.rps.toFixed(0).padStart(7)} req/s   p50 ${run.p50.toFixed(2).padStart(6)} ms   p99 ${run.p99
    .toFixed(2)
    .padStart(
      6,
    )} ms   max ${run.max.toFixed(1).padStart(6)} ms   server CPU ${run.cpuPerRequest.toFixed(0)} µs/req   statuses ${JSON.stringify(run.statuses)}`;

try {
  console.log(`ingest benchmark: ${TOTAL} distinct signed webhooks (+${WARMUP} warm-up), concurrency ${CONCURRENCY}`);
  console.log(`redis ${REDIS_URL}, queue prefix ${PREFIX}`);
  // Signed just before firing: the route refuses timestamps older than five minutes.
  const bare = await measure("bare", deliveries(WARMUP, "bw"), deliveries(TOTAL, "b"));
  const api = await measure("api", deliveries(WARMUP, "aw"), deliveries(TOTAL, "a"));
  const ratio = api.rps / bare.rps;
  console.log(`bare route      ${format(bare)}`);
  console.log(`ingest route    ${format(api)}`);
  console.log(
    `ratio ingest/bare req/s: ${(ratio * 100).toFixed(1)}%  (target ≥ 50%: ${ratio >= 0.5 ? "met" : "MISSED"})`,
  );
  console.log(`ingest p99 ${api.p99.toFixed(2)} ms  (target < 50 ms: ${api.p99 < 50 ? "met" : "MISSED"})`);
  if ((api.statuses["200"] ?? 0) !== TOTAL) console.log("WARNING: not every ingest request answered 200");
} finally {
  console.log(`removed ${await removeKeys()} redis keys under ${PREFIX}`);
}
