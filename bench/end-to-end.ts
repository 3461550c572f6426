// `pnpm bench`'s own phase: signed webhooks at a steady rate through a real API and worker (answer
// times and the lag to the projection), then the synchronous design beside the queue with PostgreSQL
// slow (a table locked for 3 s) and with it down.
import { createQueues, createRedis } from "@mailstate/queue";
import { dropDatabase, findInboxEvent, freePort, makeWorkload, type WorkloadEvent } from "@mailstate/test-support";
import { QueueEvents } from "bullmq";
import pg from "pg";
import { fire, type LoadResult, percentile, sign } from "./load.ts";
import {
  insertSends,
  openBenchRun,
  REDIS_URL,
  sleep,
  startProcess,
  startSyncServer,
  stopProcesses,
  waitHealthy,
} from "./processes.ts";

const FAULT_REQUESTS = 2_000;
export const FAULT_RATE = 500;

export async function endToEndAndFaults({ rate, seconds }: { rate: number; seconds: number }) {
  console.log("\n== end to end and the synchronous design ==");
  const e2e = await openBenchRun("e2e", { poolSize: 4 });
  const { database, databaseUrl, prefix, pool, redis, queues } = e2e;

  const steadyCount = rate * seconds;
  const workloads = {
    steady: makeWorkload({ notifications: Math.ceil(steadyCount / 10), eventsPerNotification: 10, label: "e2e" }),
    slowSync: makeWorkload({ notifications: FAULT_REQUESTS / 10, eventsPerNotification: 10, label: "slowsync" }),
    slowApi: makeWorkload({ notifications: FAULT_REQUESTS / 10, eventsPerNotification: 10, label: "slowapi" }),
  };
  for (const workload of Object.values(workloads)) {
    await insertSends(
      pool,
      workload.notifications.map((n) => n.emailId),
    );
  }
  const pgVersion = await pool.query<{ server_version: string }>("SHOW server_version");
  const postgresVersion = pgVersion.rows[0]?.server_version ?? "";
  const redisVersion = (/redis_version:(\S+)/.exec(await redis.info("server"))?.[1] ?? "").trim();

  const apiPort = await freePort();
  const commonEnv = e2e.env;
  startProcess("api", { ...commonEnv, PORT: String(apiPort) });
  const worker = startProcess("worker", commonEnv);
  await waitHealthy(apiPort);
  await sleep(2_000); // the worker's boot
  const logged = async () => Number((await pool.query("SELECT count(*) FROM event_log")).rows[0]?.count ?? 0);
  async function waitLogged(count: number, timeoutMs = 300_000): Promise<number> {
    const started = Date.now();
    while ((await logged()) < count) {
      if (Date.now() - started > timeoutMs) throw new Error(`only ${await logged()} of ${count} events logged`);
      await sleep(50);
    }
    return Date.now() - started;
  }

  // Steady rate through the API with the worker running. A completed inbox job leaves Redis at once,
  // so its lag is read from the queue's event stream as it happens: each entry's id carries Redis's own
  // clock in milliseconds, from the job's "added" (the API enqueued the batch) to its "completed". Only
  // the steady phase writes to the inbox meanwhile. (Before the add, a webhook waited in the API for at
  // most WEBHOOK_BATCH_WAIT_MS for others to share its job.)
  const steadyEvents: WorkloadEvent[] = workloads.steady.events.slice(0, steadyCount);
  const addedAt = new Map<string, number>();
  const lags: number[] = [];
  const streamMs = (id: string) => Number(id.split("-")[0]);
  const inboxEvents = new QueueEvents("inbox", { connection: createRedis(REDIS_URL, "worker"), prefix });
  inboxEvents.on("added", ({ jobId }, id) => {
    addedAt.set(jobId, streamMs(id));
  });
  inboxEvents.on("completed", ({ jobId }, id) => {
    const added = addedAt.get(jobId);
    if (added !== undefined) lags.push(streamMs(id) - added);
  });
  await inboxEvents.waitUntilReady();
  console.log(`steady: ${steadyEvents.length} webhooks at ${rate}/s`);
  const steadyHttp = await fire(apiPort, sign(steadyEvents), { rate, concurrency: 64 });
  console.log(`steady statuses ${JSON.stringify(steadyHttp.statuses)}`);
  const steadyTail = await waitLogged(steadyEvents.length).catch(async (error: Error) => {
    const { rows } = await pool.query<{ svix_id: string }>("SELECT svix_id FROM event_log");
    const seen = new Set(rows.map((row) => row.svix_id));
    const missing = steadyEvents.filter((event) => !seen.has(event.svixId));
    for (const event of missing.slice(0, 5)) {
      const [found] = await findInboxEvent(queues.inbox, event.svixId);
      const state = found ? await found.job.getState() : "no job";
      console.log(
        `missing ${event.svixId}: job ${state} ${found?.job.failedReason ?? ""} attempts ${found?.job.attemptsMade ?? "-"}`,
      );
    }
    const letters = await pool.query("SELECT svix_id, cause, error FROM dead_letters LIMIT 5");
    console.log(`dead letters: ${JSON.stringify(letters.rows)}`);
    throw error;
  });
  await sleep(500); // the last completions through the event stream
  await inboxEvents.close();
  lags.sort((a, b) => a - b);
  const lag = { p50: percentile(lags, 50), p99: percentile(lags, 99), max: lags.at(-1) ?? 0, n: lags.length };
  console.log(`steady lag p50 ${lag.p50} ms p99 ${lag.p99} ms max ${lag.max} ms (${lag.n} measured)`);

  const sync = await startSyncServer(databaseUrl);
  const warmup = (label: string) => makeWorkload({ notifications: 50, eventsPerNotification: 10, label }).events;
  await fire(sync.port, sign(warmup("warmsync")), { concurrency: 50 }); // unknown email ids: logged, not updated

  // Slow PostgreSQL: another session holds the notifications table (EXCLUSIVE) for 3 s mid-run.
  async function withSlowPostgres(run: () => Promise<LoadResult>): Promise<LoadResult> {
    const locker = new pg.Client({ connectionString: databaseUrl });
    await locker.connect();
    const running = run();
    await sleep(500);
    await locker.query("BEGIN");
    await locker.query("LOCK TABLE notifications IN EXCLUSIVE MODE");
    await sleep(3_000);
    await locker.query("COMMIT");
    await locker.end();
    return running;
  }
  const mark = await logged();
  const syncSlow = await withSlowPostgres(() =>
    fire(sync.port, sign(workloads.slowSync.events), { rate: FAULT_RATE, concurrency: 200 }),
  );
  const apiSlow = await withSlowPostgres(() =>
    fire(apiPort, sign(workloads.slowApi.events), { rate: FAULT_RATE, concurrency: 200 }),
  );
  const slowDrain = await waitLogged(mark + 2 * FAULT_REQUESTS);

  // PostgreSQL down: both designs pointed at a port where nothing listens.
  const deadUrl = `postgresql://postgres@127.0.0.1:${await freePort()}/mailstate`;
  const deadSync = await startSyncServer(deadUrl);
  const deadApiPort = await freePort();
  // A queue prefix no worker reads: this phase measures the answer to Resend alone.
  const deadPrefix = `${prefix.slice(0, -1)}-down}`;
  startProcess("api", {
    ...commonEnv,
    DATABASE_URL: deadUrl,
    QUEUE_PREFIX: deadPrefix,
    PORT: String(deadApiPort),
    HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
  });
  await waitHealthy(deadApiPort);
  await fire(deadSync.port, sign(warmup("warmdeadsync")), { concurrency: 50 });
  await fire(deadApiPort, sign(warmup("warmdeadapi")), { concurrency: 50 });
  const downEvents = makeWorkload({
    notifications: FAULT_REQUESTS / 10,
    eventsPerNotification: 10,
    label: "down",
  }).events;
  const syncDown = await fire(deadSync.port, sign(downEvents), { rate: FAULT_RATE, concurrency: 200 });
  const apiDown = await fire(deadApiPort, sign(downEvents), { rate: FAULT_RATE, concurrency: 200 });

  // --- cleanup --------------------------------------------------------------------------------------
  // Wait for them to go: a worker finishing its jobs in hand would recreate keys after the obliterate.
  await stopProcesses();
  void worker;
  await queues.inbox.obliterate({ force: true }).catch(() => {});
  await queues.unmatched.obliterate({ force: true }).catch(() => {});
  await queues.close();
  const deadQueues = createQueues(redis, deadPrefix);
  await deadQueues.inbox.obliterate({ force: true }).catch(() => {});
  await deadQueues.close();
  redis.disconnect();
  await pool.end();
  await dropDatabase(database);
  return {
    versions: { postgres: postgresVersion, redis: redisVersion },
    steady: { webhooks: steadyEvents.length, http: steadyHttp, tail: steadyTail, lag },
    slow: { sync: syncSlow, api: apiSlow, drain: slowDrain },
    down: { sync: syncDown, api: apiDown },
  };
}
export type EndToEndFigures = Awaited<ReturnType<typeof endToEndAndFaults>>;
