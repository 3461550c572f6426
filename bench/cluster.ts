// `pnpm bench:cluster`: ingest and worker throughput on one Redis and on a local three-master Redis
// Cluster (Debian's redis-server in cluster mode, started here), with INBOX_SHARDS 1 and 3. Real API
// and worker processes (apps/*/src/main.ts); every node and the API and worker share this one box,
// so the figures show what the cluster costs here, never what it gains across machines.
// Env: BENCH_CLUSTER_EVENTS (10000) webhooks per configuration, BENCH_CLUSTER_CONNECTIONS (64).
import { randomBytes } from "node:crypto";
import { createQueues, createRedis, type RedisTarget } from "@mailstate/queue";
import {
  createMigratedDatabase,
  dropDatabase,
  freePort,
  makeWorkload,
  type RedisClusterServers,
  startRedisCluster,
} from "@mailstate/test-support";
import pg from "pg";
import { fire, sign } from "./load.ts";
import { benchAppEnv, insertSends, REDIS_URL, sleep, startProcess, stopProcesses, waitHealthy } from "./processes.ts";

/** Read once here: the run's knobs, not a build input. */
const env = process.env;
const EVENTS = Number(env.BENCH_CLUSTER_EVENTS ?? 10_000);
const CONNECTIONS = Number(env.BENCH_CLUSTER_CONNECTIONS ?? 64);

interface Config {
  label: string;
  shards: number;
  cluster?: RedisClusterServers;
}

async function measure({ label, shards, cluster }: Config): Promise<string> {
  const suffix = randomBytes(3).toString("hex");
  const database = `mailstate_bench_cluster_${suffix}`;
  const prefix = `{mailstate-bench-cl-${suffix}}`;
  const databaseUrl = await createMigratedDatabase(database);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  const target: RedisTarget = cluster
    ? {
        REDIS_URL: cluster.nodes[0]?.url ?? REDIS_URL,
        REDIS_CLUSTER_NODES: cluster.nodes.map((node) => ({ host: "127.0.0.1", port: node.port })),
      }
    : { REDIS_URL };
  const processEnv = benchAppEnv({
    DATABASE_URL: databaseUrl,
    REDIS_URL: target.REDIS_URL,
    ...(cluster ? { REDIS_CLUSTER_NODES: cluster.seeds } : {}),
    INBOX_SHARDS: String(shards),
    QUEUE_PREFIX: prefix,
  });
  try {
    const workload = makeWorkload({ notifications: Math.ceil(EVENTS / 5), eventsPerNotification: 5, label: suffix });
    const events = workload.events.slice(0, EVENTS);
    await insertSends(
      pool,
      workload.notifications.map((n) => n.emailId),
    );
    const port = await freePort();
    startProcess("api", { ...processEnv, PORT: String(port) });
    await waitHealthy(port, "/readyz");
    // Ingest alone (no worker): the API verifies and enqueues into the shards.
    const ingest = await fire(port, sign(events), { concurrency: CONNECTIONS });
    // Then one worker drains the backlog: from its first logged event to its last.
    const logged = async () => Number((await pool.query("SELECT count(*) FROM event_log")).rows[0]?.count ?? 0);
    startProcess("worker", processEnv);
    let first = await logged();
    while (first === 0) {
      await sleep(20);
      first = await logged();
    }
    const started = Date.now();
    const deadline = started + 600_000;
    let done = first;
    while (done < events.length && Date.now() < deadline) {
      await sleep(50);
      done = await logged();
    }
    const seconds = (Date.now() - started) / 1_000;
    const workerRate = (done - first) / Math.max(seconds, 0.001);
    const statuses = Object.entries(ingest.statuses)
      .map(([status, count]) => `${status}×${count}`)
      .join(", ");
    return (
      `cluster ${label}: ingest ${Math.round(ingest.rps)} req/s (p50 ${ingest.p50.toFixed(1)} ms, ` +
      `p99 ${ingest.p99.toFixed(1)} ms, ${statuses}); worker ${Math.round(workerRate)} events/s ` +
      `(${done} of ${events.length} logged)`
    );
  } finally {
    await stopProcesses();
    await pool.end();
    await dropDatabase(database);
    if (!cluster) {
      // On the shared Redis: this run's queues go (the cluster goes whole, below).
      const redis = createRedis(target.REDIS_URL, "worker");
      const queues = createQueues(redis, prefix, {}, { inboxShards: shards });
      for (const queue of [...queues.inboxShards, queues.unmatched, queues.maintenance, queues.resend])
        await queue.obliterate({ force: true }).catch(() => {});
      await redis.del(`${prefix}:inbox-layouts`);
      await queues.close();
      redis.disconnect();
    }
  }
}

console.log(`${EVENTS} signed webhooks per configuration, ${CONNECTIONS} connections, then one worker drains them`);
console.log(await measure({ label: "one Redis, INBOX_SHARDS=1", shards: 1 }));
const cluster = await startRedisCluster(3);
try {
  console.log(await measure({ label: "3-master cluster, INBOX_SHARDS=1", shards: 1, cluster }));
  console.log(await measure({ label: "3-master cluster, INBOX_SHARDS=3", shards: 3, cluster }));
} finally {
  await cluster.destroy();
}
process.exit();
