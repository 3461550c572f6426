// `pnpm bench:heavy`: what one event costs on a notification that already has 10,000 opens, next
// to a fresh one, against a real worker process and PostgreSQL. Events go one at a time (each waits
// for the previous to finish), so a figure is one event's whole trip: queue, batch, transaction.
// For each notification: an open first (the worker has never seen its 10,000 opens: a restarted
// worker, or its cache evicted), then a bounce. Options: --opens 10000 --notifications 8
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import os from "node:os";
import { parseArgs } from "node:util";
import { addInboxBatch, createQueues, createRedis } from "@mailstate/queue";
import { makeEvent } from "@mailstate/resend-events";
import { createMigratedDatabase, dropDatabase } from "@mailstate/test-support";
import { QueueEvents } from "bullmq";
import pg from "pg";

const { values } = parseArgs({
  options: {
    opens: { type: "string", default: "10000" },
    notifications: { type: "string", default: "8" },
  },
});
const OPENS = Number(values.opens);
const COUNT = Number(values.notifications);
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

const database = `mailstate_bench_heavy_${randomBytes(3).toString("hex")}`;
const prefix = `{mailstate-bench-${randomBytes(3).toString("hex")}}`;
const databaseUrl = await createMigratedDatabase(database);
const sql = new pg.Pool({ connectionString: databaseUrl, max: 2 });
const redis = createRedis(redisUrl, "worker");
const queues = createQueues(redis, prefix);
const eventsRedis = createRedis(redisUrl, "worker");
const queueEvents = new QueueEvents("inbox", { connection: eventsRedis, prefix });

const at = (ms: number) => new Date(Date.parse("2026-11-22T10:00:00.000Z") + ms).toISOString();

/** A sent, delivered notification with `opens` opens, written straight into the log as the worker leaves it. */
async function seed(emailId: string, opens: number): Promise<void> {
  const { rows } = await sql.query<{ id: string }>(
    `INSERT INTO notifications (resend_email_id, recipients, "from", subject, updated_at)
     VALUES ($1, '{heavy@example.com}', 'bench@acme.test', 'bench', now()) RETURNING id::text AS id`,
    [emailId],
  );
  const id = rows[0]?.id;
  const data = { email_id: emailId, to: ["heavy@example.com"] };
  const insert = `INSERT INTO delivery_events (svix_id, type, occurred_at, email_id, payload, notification_id, status)
     SELECT $1 || '_' || g, $2, $3::timestamptz + g * interval '1 ms', $4,
            jsonb_set($5::jsonb, '{created_at}', to_jsonb(to_char(($3::timestamptz + g * interval '1 ms') AT TIME ZONE 'UTC',
                                                                    'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))),
            $6::uuid, 'applied'
       FROM generate_series(1, $7::int) AS g`;
  for (const [type, from, count] of [
    ["email.sent", 1_000, 1],
    ["email.delivered", 2_000, 1],
  ] as const) {
    const body = makeEvent(type, { created_at: at(from), data });
    await sql.query(insert, [`msg_${emailId}_${type}`, type, at(from), emailId, JSON.stringify(body), id, count]);
  }
  // Applied opens live in the engagement log only.
  await sql.query(
    `INSERT INTO engagement_events (svix_id, notification_id, kind, occurred_at)
     SELECT $1 || '_' || g, $2::uuid, 'opened', $3::timestamptz + g * interval '1 ms' FROM generate_series(1, $4::int) AS g`,
    [`msg_${emailId}_email.opened`, id, at(3_000), opens],
  );
  await sql.query(
    `UPDATE notifications SET state = 'delivered', state_changed_at = $2, state_event_type = 'email.delivered',
            state_event_id = $3, open_count = $4, first_opened_at = CASE WHEN $4 > 0 THEN $5::timestamptz END,
            first_event_at = $6
      WHERE id = $1::uuid`,
    [id, at(2_001), `msg_${emailId}_email.delivered_1`, opens, at(3_001), at(1_001)],
  );
}

/** One event through the queue; answers the ms from enqueue to finished. */
async function oneEvent(body: Record<string, unknown>): Promise<number> {
  const svixId = `msg_${randomBytes(8).toString("hex")}`;
  const started = performance.now();
  const [jobId] = await addInboxBatch(queues, [{ svixId, receivedAt: new Date().toISOString(), event: body }]);
  const job = jobId ? await queues.inbox.getJob(jobId) : undefined;
  if (!job) throw new Error(`job ${jobId} not found`);
  await job.waitUntilFinished(queueEvents, 60_000);
  return performance.now() - started;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function measure(label: string, opens: number) {
  console.error(`${label}: ${COUNT} notifications with ${opens} opens`);
  const first: number[] = [];
  const bounce: number[] = [];
  for (let i = 0; i < COUNT; i += 1) {
    const emailId = `re_${label}_${i}`;
    await seed(emailId, opens);
    const data = { email_id: emailId, to: ["heavy@example.com"] };
    first.push(await oneEvent(makeEvent("email.opened", { created_at: at(900_000), data })));
    bounce.push(
      await oneEvent(
        makeEvent("email.bounced", {
          created_at: at(950_000),
          data: { ...data, bounce: { type: "Undetermined", subType: "General", message: "bench" } },
        }),
      ),
    );
  }
  const { rows } = await sql.query<{ wrong: number }>(
    `SELECT count(*)::int AS wrong FROM notifications
      WHERE resend_email_id LIKE $1 AND (state <> 'bounced' OR open_count <> $2)`,
    [`re_${label}_%`, opens + 1],
  );
  return { first: median(first), bounce: median(bounce), wrong: rows[0]?.wrong ?? -1 };
}

const worker = spawn(process.execPath, ["--import", "tsx", "apps/worker/src/main.ts"], {
  env: {
    ...process.env,
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: "info",
    WORKER_METRICS_PORT: "0",
  },
  stdio: ["ignore", "pipe", "inherit"],
});
try {
  await new Promise<void>((resolve) => {
    worker.stdout.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("worker ready")) resolve();
    });
  });
  await queueEvents.waitUntilReady();
  // One warm-up round, not reported: the worker's first transactions pay for connections and JIT.
  await measure("warmup", 10);
  const fresh = await measure("fresh", 0);
  const heavy = await measure("heavy", OPENS);
  const cpus = os.cpus();
  console.log(`machine: ${cpus.length} x ${cpus[0]?.model ?? "cpu"}, node ${process.version}`);
  console.log(
    `heavy:   one bounce on a notification with ${OPENS} opens ${heavy.bounce.toFixed(1)} ms, on a fresh one ${fresh.bounce.toFixed(1)} ms (median of ${COUNT}, enqueue to finished)`,
  );
  console.log(
    `cold:    the first event after a restart on a notification with ${OPENS} opens ${heavy.first.toFixed(1)} ms, on a fresh one ${fresh.first.toFixed(1)} ms`,
  );
  console.log(`check:   ${heavy.wrong + fresh.wrong} notification(s) off their expected state or open count`);
  if (heavy.wrong + fresh.wrong !== 0) process.exitCode = 1;
} finally {
  worker.kill("SIGTERM");
  await queues.inbox.obliterate({ force: true }).catch(() => {});
  await queues.unmatched.obliterate({ force: true }).catch(() => {});
  await queues.close();
  await queueEvents.close();
  eventsRedis.disconnect();
  redis.disconnect();
  await sql.end();
  await dropDatabase(database);
}
