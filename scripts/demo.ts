// `pnpm demo [--exit] [--count <n>] [--seed <n>]`: the whole pipeline on this machine without a
// Resend account. Starts the API and the worker (queue prefix {mailstate-demo}), a Resend stand-in
// posting signed webhooks back (and losing some of them), sends a few hundred emails through
// @mailstate/sdk, waits until their webhooks are reconciled and the sweeper has healed what was
// lost, prints the states and where to look, then runs until Ctrl-C.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { parseArgs } from "node:util";
import { createDb, ops } from "@mailstate/db";
import { createResendStandin, type ResendStandin } from "@mailstate/resend-standin";
import { createMailstate, type SendResult } from "@mailstate/sdk";
import { DELIVERY_STATES } from "@mailstate/state-machine";
import { Resend } from "resend";

const { values: flags } = parseArgs({
  options: {
    exit: { type: "boolean", default: false },
    count: { type: "string", default: "300" },
    seed: { type: "string" },
    verbose: { type: "boolean", default: false },
  },
});
const count = Number(flags.count);
if (!Number.isInteger(count) || count < 60 || count > 5_000) fail("--count must be an integer from 60 to 5000");

if (existsSync(".env")) process.loadEnvFile(".env");
const env = process.env;
/** A database of its own (created and migrated here), so demo rows never mix with real ones. */
function demoDatabaseUrl(): string {
  if (env.DEMO_DATABASE_URL) return env.DEMO_DATABASE_URL;
  const url = new URL(env.DATABASE_URL || "postgresql://postgres@127.0.0.1:5432/mailstate");
  url.pathname = `${url.pathname.replace(/^\//, "") || "mailstate"}_demo`;
  return url.toString();
}
const databaseUrl = demoDatabaseUrl();
const queuePrefix = env.DEMO_QUEUE_PREFIX || "{mailstate-demo}";
// Only the demo's processes get these; .env is never written.
const secret =
  env.RESEND_WEBHOOK_SECRET?.split(/[\s,]+/).find(Boolean) || `whsec_${randomBytes(24).toString("base64")}`;
const apiKey = env.API_KEYS?.split(/[\s,]+/).find(Boolean) || `msk_demo_${randomBytes(16).toString("hex")}`;
const opsUsername = env.OPS_USERNAME || "ops";
const opsPassword = env.OPS_PASSWORD || randomBytes(9).toString("base64url");
const seed = flags.seed === undefined ? randomBytes(4).readUInt32LE() : Number(flags.seed);
const runId = randomUUID().slice(0, 8);
const tenant = `demo-${runId}`;

const children: { name: string; child: ChildProcess; output: string }[] = [];
let standin: ResendStandin | undefined;
let stopping = false;

function fail(message: string): never {
  console.error(`demo: ${message}`);
  process.exit(1);
}

function log(line = ""): void {
  console.log(line);
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "0.0.0.0", () => server.close(() => resolve(true)));
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

function start(name: string, script: string, extraEnv: Record<string, string>): Promise<void> {
  const child = spawn(process.execPath, ["--import", "tsx", script], {
    env: { ...env, ...extraEnv },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const entry = { name, child, output: "" };
  children.push(entry);
  const ready = name === "api" ? /api listening/ : /worker ready/;
  return new Promise((resolve, reject) => {
    let isReady = false;
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      if (!isReady) {
        entry.output += text;
        if (ready.test(entry.output)) {
          isReady = true;
          entry.output = "";
          resolve();
        }
      } else if (flags.verbose) process.stdout.write(text.replace(/^/gm, `[${name}] `));
      else for (const line of text.split("\n")) if (/"level":(50|60)/.test(line)) console.error(`[${name}] ${line}`);
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.on("exit", (code, signal) => {
      if (!isReady) reject(new Error(`${name} exited (${signal ?? code}) before it was ready:\n${entry.output}`));
      else if (!stopping) {
        console.error(`demo: ${name} exited (${signal ?? code})`);
        void shutdown(1);
      }
    });
  });
}

async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  standin?.close().catch(() => {});
  await Promise.all(
    children.map(
      ({ child }) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once("exit", () => resolve());
          child.kill("SIGTERM");
        }),
    ),
  );
  process.exit(code);
}
// `pnpm demo` runs this with exec (package.json): no shell stands between pnpm and node to be killed
// by Ctrl-C, so pnpm reports the exit code given here, 0 for a stop that was asked for.
process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));
process.on("uncaughtException", (error) => {
  // Ctrl-C while the demo still sends: the calls in flight fail as the API stops, which is the stop
  // that was asked for. Anything else is a failure: said, and the API and the worker stopped too.
  if (!stopping) console.error(`demo: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  void shutdown(1);
});

const preferredPort = Number(env.DEMO_PORT || env.PORT || 3000);
const port = (await portFree(preferredPort)) ? preferredPort : await freePort();
if (port !== preferredPort) log(`port ${preferredPort} is taken; the demo's API uses ${port}`);

log(`applying migrations to ${databaseUrl.replace(/:[^:@/]+@/, ":***@")} …`);
const migrate = spawnSync("pnpm", ["--silent", "--filter", "@mailstate/db", "migrate"], {
  env: { ...env, DATABASE_URL: databaseUrl },
  encoding: "utf8",
});
if (migrate.status !== 0) fail(`migrations failed:\n${migrate.stdout}\n${migrate.stderr}`);

/** Webhooks the stand-in loses (an endpoint down past Resend's retries): the sweeper heals them. */
const LOSS_RATE = 0.08;
const baseUrl = `http://127.0.0.1:${port}`;
standin = await createResendStandin({
  // suppression.added and .removed, as a Resend endpoint subscribed to them gets them.
  suppressionEvents: true,
  webhook: {
    url: `${baseUrl}/webhooks/resend`,
    secret,
    // Enough of each outcome that every state shows; pending + delay leaves some lingering in
    // delivery_delayed, pending alone in sent.
    rates: {
      bounce: 0.08,
      softBounce: 0.04,
      complaint: 0.05,
      fail: 0.02,
      pending: 0.12,
      delay: 0.3,
      open: 0.55,
      click: 0.25,
    },
    duplicateRate: 0.1,
    lossRate: LOSS_RATE,
    maxDelayMs: 1_500,
    lifecycleMs: 1_200,
    seed,
  },
});
const resendKey = "re_demo_standin_key";

const shared = {
  DATABASE_URL: databaseUrl,
  QUEUE_PREFIX: queuePrefix,
  RESEND_WEBHOOK_SECRET: secret,
  LOG_LEVEL: "info",
  // The demo's worker may run beside `pnpm start`'s: it serves no /metrics port of its own.
  WORKER_METRICS_PORT: "0",
  // Reconciling against the stand-in's API: a short cadence, so the demo shows the heal in seconds.
  RESEND_API_KEY: resendKey,
  RESEND_BASE_URL: standin.url,
  RESEND_API_RPS: "20",
  SWEEPER_INTERVAL_MS: "2000",
  SWEEPER_STALE_AFTER_MS: "4000",
};
log(`starting the API on :${port} and the worker (queue prefix ${queuePrefix}) …`);
try {
  await Promise.all([
    start("api", "apps/api/src/main.ts", {
      ...shared,
      PORT: String(port),
      API_KEYS: apiKey,
      OPS_USERNAME: opsUsername,
      OPS_PASSWORD: opsPassword,
    }),
    start("worker", "apps/worker/src/main.ts", shared),
  ]);
} catch (error) {
  console.error(`demo: ${error instanceof Error ? error.message : String(error)}`);
  await shutdown(1);
}

const resend = new Resend(resendKey, { baseUrl: standin.url });
const mailstate = createMailstate({ baseUrl, apiKey });
const db = createDb({ databaseUrl, poolSize: 2 });

const CATEGORIES = ["welcome", "receipt", "digest", "password_reset"] as const;
const emailFor = (
  i: number,
  to = `user${i}.${runId}@example.com`,
  category: (typeof CATEGORIES)[number] = CATEGORIES[i % CATEGORIES.length] ?? "welcome",
) => {
  return {
    from: "Acme <hello@acme.dev>",
    to,
    subject: `[demo] ${category.replace("_", " ")} #${i}`,
    html: `<p>Hello from the mailstate demo.</p><p><a href="https://acme.dev/${category}?u=${i}">Open</a></p>`,
    tags: [{ name: "category", value: category }],
  };
};

const results: SendResult[] = [];
const started = performance.now();
log(`sending ${count} emails through @mailstate/sdk (seed ${seed}, tenant ${tenant}) …`);

// Wave 1: most through sendBatch (100 per Resend call), the rest one by one, a few at a time.
const wave1 = count - 25;
const batched = Math.floor((wave1 * 2) / 3);
results.push(
  ...(await mailstate.sendBatch(
    resend,
    Array.from({ length: batched }, (_, i) => emailFor(i)),
    { tenant },
  )),
);
let next = batched;
await Promise.all(
  Array.from({ length: 8 }, async () => {
    while (next < wave1) {
      const i = next++;
      results.push(await mailstate.send(resend, emailFor(i), { tenant, category: CATEGORIES[i % 4] }));
    }
  }),
);
// One email Resend refuses (no body): recorded, never sent: it stays `recorded`, carrying Resend's error.
results.push(await mailstate.send(resend, { ...emailFor(wave1), html: undefined } as never, { tenant }));
await settle();

// Wave 2: the addresses that bounced or complained are suppressed now. The SDK refuses most sends to
// them; password resets bypass the list, and Resend answers those with email.suppressed.
const suppressedAddresses = [...(standin.webhooks?.plans.values() ?? [])]
  .filter((plan) => plan.outcome === "bounced" || plan.outcome === "complained")
  .flatMap((plan) => plan.events[0]?.body.data.to ?? [])
  .filter((address): address is string => typeof address === "string");
for (const [i, address] of suppressedAddresses.slice(0, 24).entries()) {
  const bypass = i % 4 === 0;
  results.push(
    await mailstate.send(resend, emailFor(count + i, address, bypass ? "password_reset" : undefined), {
      tenant,
      ...(bypass ? { bypassSuppression: true, category: "password_reset" } : {}),
    }),
  );
}
await settle();

// Scheduled sends: four for tomorrow (Resend's scheduledAt); two of them cancelled with the SDK's
// cancel, which cancels them at Resend and records it (state canceled). The others stay scheduled.
const tomorrow = new Date(Date.now() + 86_400_000).toISOString();
const scheduled: SendResult[] = [];
for (let i = 0; i < 4; i += 1)
  scheduled.push(await mailstate.send(resend, { ...emailFor(count + 60 + i), scheduledAt: tomorrow }, { tenant }));
results.push(...scheduled);
const toCancel = scheduled.slice(0, 2).flatMap((result) => (result.status === "sent" ? [result] : []));
for (const result of toCancel) if (result.notificationId) await mailstate.cancel(result.notificationId);
const cancelDeadline = Date.now() + 15_000;
while (Date.now() < cancelDeadline) {
  const states = await ops.statesByEmailId(
    db,
    toCancel.map((result) => result.resendEmailId),
  );
  if ([...states.values()].filter((state) => state === "canceled").length === toCancel.length) break;
  await new Promise((resolve) => setTimeout(resolve, 100));
}

// Wave 3: a spammy category through a client with the reputation guard. Its limit is 1% complaints
// (the stand-in draws 5%); once a round's webhooks are in, the guard refuses the category's sends.
// The demo reads the rates every second; the default cache is a minute.
const guarded = createMailstate({ baseUrl, apiKey, guard: { maxComplaintRate: 0.01, cacheMs: 1_000 } });
const promo: SendResult[] = [];
let refusal: Extract<SendResult, { status: "refused" }> | undefined;
for (let round = 0; round < 4 && !refusal; round += 1) {
  const emails = Array.from({ length: 40 }, (_, i) => emailFor(count + 100 + round * 40 + i));
  for (const result of await guarded.sendBatch(resend, emails, { tenant, category: "promo" })) {
    if (result.status === "refused") refusal = result;
    else promo.push(result);
  }
  if (refusal) break;
  await settle();
  // A second later the guard's cache has expired: it asks mailstate for the rates again.
  await new Promise((resolve) => setTimeout(resolve, 1_100));
}
if (!refusal) {
  const last = await guarded.send(resend, emailFor(count + 300), { tenant, category: "promo" });
  if (last.status === "refused") refusal = last;
}
const seconds = ((performance.now() - started) / 1000).toFixed(1);

/**
 * Until every webhook is posted and every sent email's notification shows its planned state (or 45 s):
 * the lost webhooks' notifications get there when the sweeper asks the stand-in about them.
 */
async function settle(): Promise<void> {
  await standin?.idle(60_000);
  const planned = new Map(
    [...(standin?.webhooks?.plans.values() ?? [])].map((plan) => [plan.emailId, plan.expectedState]),
  );
  const deadline = Date.now() + 45_000;
  let behind: [string, string, string | undefined][] = [];
  while (Date.now() < deadline) {
    const states = await ops.statesByEmailId(db, [...planned.keys()]);
    behind = [...planned].flatMap(([id, state]) => (states.get(id) === state ? [] : [[id, state, states.get(id)]]));
    if (behind.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  console.error(
    `demo: some notifications had not reached their planned state after 45 s (is the worker busy?): ${behind.length}, ` +
      `e.g. ${JSON.stringify(behind.slice(0, 3))} (email id, planned, actual)`,
  );
}

const byState = await ops.notificationsByState(db, { tenant });
// What the sweeper appended from Resend's API (emails.get), for this run's notifications.
const healed = await db.deliveryEvent.findMany({
  where: { svixId: { startsWith: "resend-api_" }, notification: { tenant } },
  select: { notificationId: true },
  distinct: ["notificationId"],
});
const warnedBypasses = results.filter(
  (result) => result.status === "sent" && result.warnings.some((warning) => warning.code === "suppressed_by_resend"),
).length;
const tally = (status: SendResult["status"]) => results.filter((result) => result.status === status).length;
const counters = standin.counters;

log();
log(`mailstate demo: ${results.length} sends in ${seconds}s`);
log();
log(`notifications by state (tenant ${tenant})`);
for (const state of DELIVERY_STATES)
  if (byState[state]) log(`  ${state.padEnd(17)} ${String(byState[state]).padStart(5)}`);
log();
log(
  `sends: ${tally("sent")} sent, ${tally("suppressed")} refused by the SDK (suppressed recipients), ${tally("failed")} refused by Resend`,
);
log(
  `webhooks: ${counters.delivered} delivered to the API (${counters.duplicates} duplicates, ${counters.retried} retried, ${counters.failed} failed), out of order within ${1.5} s`,
);
log(
  `lost webhooks: ${counters.lost} never posted (${LOSS_RATE * 100}%); sweeper: ${healed.length} notifications healed from Resend's API (emails.get)`,
);
log(
  `bypass sends: ${warnedBypasses} password resets warned that Resend's own list still holds the address (suppressed_by_resend)`,
);
log(
  refusal
    ? `reputation guard: ${promo.length} promo sends, then refused: ${refusal.reason} ${(Number(refusal.rate) * 100).toFixed(2)}% over the ${Number(refusal.limit) * 100}% limit (tenant ${tenant}, category promo)`
    : `reputation guard: ${promo.length} promo sends, never refused (no complaint drawn)`,
);
log();
log(`support page:  http://localhost:${port}/support`);
log(`reputation:    http://localhost:${port}/support/reputation?tenant=${tenant}`);
log(`Bull Board:    http://localhost:${port}/admin/queues`);
log(`credentials:   ${opsUsername} / ${opsPassword}   (OPS_USERNAME / OPS_PASSWORD)`);
log(`API key:       ${apiKey}   (GET http://localhost:${port}/v1/notifications?tenant=${tenant})`);
log(`ops CLI:       QUEUE_PREFIX='${queuePrefix}' DATABASE_URL='${databaseUrl}' pnpm mailstate stats`);
log();
await db.$disconnect();
if (flags.exit) await shutdown(0);
else log("running; Ctrl-C to stop");
