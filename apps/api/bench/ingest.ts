// `pnpm bench:ingest`: POST /webhooks/resend against a bare body-reading route, same load, same machine.
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { Agent, request } from "node:http";
import { performance } from "node:perf_hooks";
import { Redis } from "ioredis";
import { Webhook } from "svix";

const TOTAL = Number(process.env.BENCH_REQUESTS ?? 5_000);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 1_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const PREFIX = `{mailstate-bench-${randomBytes(4).toString("hex")}}`;

interface Delivery {
  body: Buffer;
  headers: Record<string, string | number>;
}

function deliveries(count: number, label: string): Delivery[] {
  const webhook = new Webhook(SECRET);
  const now = new Date();
  return Array.from({ length: count }, (_, i) => {
    const id = `msg_bench${label}${i.toString(36).padStart(6, "0")}${randomBytes(4).toString("hex")}`;
    const body = Buffer.from(
      JSON.stringify({
        type: "email.delivered",
        created_at: now.toISOString(),
        data: {
          created_at: now.toISOString(),
          email_id: `${randomBytes(4).toString("hex")}-02e9-4d39-ad75-9611e0fcc33c`,
          from: "Acme <onboarding@acme.dev>",
          to: [`user${i}@example.com`],
          subject: "Your receipt from Acme",
          tags: { category: "receipt" },
        },
      }),
    );
    return {
      body,
      headers: {
        "content-type": "application/json",
        "content-length": body.length,
        "svix-id": id,
        "svix-timestamp": Math.floor(now.getTime() / 1_000),
        "svix-signature": webhook.sign(id, now, body.toString()),
      },
    };
  });
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
      RESEND_WEBHOOK_SECRET: SECRET,
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

interface Run {
  rps: number;
  /** Server CPU per request, µs: what the route costs, whatever else the machine is doing. */
  cpuPerRequest: number;
  p50: number;
  p99: number;
  max: number;
  statuses: Map<number, number>;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function fire(port: number, batch: Delivery[]): Promise<Omit<Run, "cpuPerRequest">> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  let next = 0;
  const one = (delivery: Delivery) =>
    new Promise<void>((resolve, reject) => {
      const started = performance.now();
      const req = request(
        { host: "127.0.0.1", port, path: "/webhooks/resend", method: "POST", agent, headers: delivery.headers },
        (res) => {
          res.resume();
          res.on("end", () => {
            latencies.push(performance.now() - started);
            statuses.set(res.statusCode ?? 0, (statuses.get(res.statusCode ?? 0) ?? 0) + 1);
            resolve();
          });
        },
      );
      req.on("error", reject);
      req.end(delivery.body);
    });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < batch.length) {
        const delivery = batch[next++];
        if (delivery) await one(delivery);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1_000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    rps: batch.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies.at(-1) ?? 0,
    statuses,
  };
}

async function measure(mode: "api" | "bare", warmup: Delivery[], batch: Delivery[]): Promise<Run> {
  const server = await startServer(mode);
  try {
    await fire(server.port, warmup);
    await server.cpu("mark");
    const run = await fire(server.port, batch);
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
    )} ms   max ${run.max.toFixed(1).padStart(6)} ms   server CPU ${run.cpuPerRequest.toFixed(0)} µs/req   statuses ${JSON.stringify(Object.fromEntries(run.statuses))}`;

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
  if ((api.statuses.get(200) ?? 0) !== TOTAL) console.log("WARNING: not every ingest request answered 200");
} finally {
  console.log(`removed ${await removeKeys()} redis keys under ${PREFIX}`);
}
