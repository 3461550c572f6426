// The one test harness: a database and a queue prefix of the test's own (or Redis and PostgreSQL
// servers of its own), the test's connections to them, and the API and the worker started on them,
// in this process or as processes, fed webhooks signed to the API or enqueued as the API does.
//
// This package sits below the apps (they depend on it), so it cannot import them, nor
// @mailstate/db (whose tests use this package): the test passes the system it runs, a `System`,
// which each app exports for tests (`@mailstate/worker/testing`, `@mailstate/api/testing`).
import {
  addInboxBatch,
  createQueues,
  createRedis,
  INBOX_BATCH_MAX,
  type Queues,
  type RedisClient,
} from "@mailstate/queue";
import type { Logger } from "@mailstate/runtime";
import {
  createMigratedDatabaseOn,
  freePort,
  type PostgresCluster,
  type RedisServer,
  startPostgresCluster,
  startRedisServer,
} from "./clusters.ts";
import { createTestDatabase } from "./databases.ts";
import { exitOf, type Spawned, spawnProcess } from "./processes.ts";
import { waitForDrain } from "./queues.ts";
import { testQueuePrefix, testRedisUrl } from "./redis.ts";
import { deliverWebhook, newSvixId, TEST_WEBHOOK_SECRET } from "./webhooks.ts";

/** Environment variables, as an app reads them at boot. */
export type Vars = Record<string, string>;

export interface Closable {
  close(): Promise<void>;
}

export interface StartContext<Clients> {
  /** What the app reads at boot, as its main.ts reads process.env. */
  env: Vars;
  /** The harness's own connections, which the app shares, as one process shares its pools. */
  clients: Clients;
  /** Where the app logs; silent when not given. */
  logger?: Logger;
}

/** How to run one app: in this process, or its main.ts as a child process. */
export interface AppEntry<Clients, Running extends Closable> {
  start(context: StartContext<Clients>): Promise<Running>;
  /** Absolute path of its main.ts. */
  main: string;
}

/** An API started in this process: where it listens, and the queues its own connection writes. */
export interface RunningApi extends Closable {
  baseUrl: string;
  queues: Queues;
}

/** The system under test, passed by the test: how to connect to a database, and the apps. */
export interface System<Clients extends Closable, Worker extends Closable, Api extends RunningApi> {
  /** The test's own connections to a database (closed with the harness). */
  connect(databaseUrl: string, limits?: { connectionTimeoutMs?: number }): Clients;
  worker: AppEntry<Clients, Worker>;
  api?: AppEntry<Clients, Api>;
}

export const TEST_API_KEY = "msk_test_0123456789abcdef0123456789abcdef";
const SECOND_API_KEY = "msk_test_second_key_0000000000";

export interface Answer {
  status: number;
  contentType: string;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: test assertions read arbitrary JSON
  body: any;
}

/** An API reachable over HTTP, in this process or not: calls with the test key, signed webhooks. */
export interface ApiClient {
  baseUrl: string;
  apiKey: string;
  /** fetch against the API with the test key (or the given headers); the body parsed as JSON. */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Answer>;
  /** POST an event to /webhooks/resend signed as Resend does; answers its svix-id, throws unless 200. */
  postWebhook(event: object, svixId?: string): Promise<string>;
}

export interface HarnessOptions {
  /** Variables for every app this harness starts; DATABASE_URL, REDIS_URL and QUEUE_PREFIX here override the harness's own. */
  env?: Vars;
  /** Redis and PostgreSQL servers of the test's own, to kill and restart (fault tests), instead of the shared ones. */
  ownServers?: { redis?: boolean; postgres?: boolean };
  /** Limits of the test's own connections (a test that stops PostgreSQL wants them to give up fast). */
  connectionTimeoutMs?: number;
}

interface HarnessBase<Worker extends Closable, Api extends RunningApi> {
  label: string;
  databaseUrl: string;
  redisUrl: string;
  prefix: string;
  /** What each app started here reads at boot: the database, Redis, prefix, webhook secret, API keys. */
  env: Vars;
  /** The test's connection to Redis (it waits out a restart), and its view of the queues on it. */
  redis: RedisClient;
  queues: Queues;
  /** The servers of the test's own, when asked for. */
  servers: { redis?: RedisServer; postgres?: PostgresCluster };
  /** Enqueue one webhook as the API does, in a batch job of its own (as a redelivery would be); answers its svix-id. */
  deliver(body: object, svixId?: string): Promise<string>;
  /** Enqueue webhooks in bulk as the API does: full batch jobs (a duplicate rides along; PostgreSQL dedupes it). */
  deliverAll(events: { svixId: string; body: object }[]): Promise<void>;
  /**
   * Until no inbox job is waiting, delayed or active; answers how long it took. With `watch`, a
   * worker process that exits ends the wait at once, and its output is in the error.
   */
  drained(timeoutMs?: number, watch?: Spawned): Promise<number>;
  /** The worker in this process; `env` adds or overrides variables; `logger` sees what it logs. */
  startWorker(env?: Vars, options?: { logger?: Logger }): Promise<Worker>;
  /** The API in this process on an ephemeral port; `env` adds or overrides variables. */
  startApi(env?: Vars, options?: { logger?: Logger }): Promise<Api & ApiClient>;
  /** The worker's main.ts as a child process (log level info, so that "worker ready" shows). */
  spawnWorker(env?: Vars): Spawned;
  /** The API's main.ts as a child process on a free port, once it listens. */
  spawnApi(env?: Vars): Promise<ApiClient & { process: Spawned }>;
  /** Stop everything started here, empty the queues, drop the database or the servers. */
  close(): Promise<void>;
}

export type Harness<Clients extends Closable, Worker extends Closable, Api extends RunningApi> = HarnessBase<
  Worker,
  Api
> &
  Omit<Clients, "close">;

export async function createHarness<Clients extends Closable, Worker extends Closable, Api extends RunningApi>(
  label: string,
  system: System<Clients, Worker, Api>,
  options: HarnessOptions = {},
): Promise<Harness<Clients, Worker, Api>> {
  const overrides = options.env ?? {};
  const [redisServer, postgres] = await Promise.all([
    options.ownServers?.redis ? startRedisServer() : undefined,
    options.ownServers?.postgres ? startPostgresCluster() : undefined,
  ]);
  const database = overrides.DATABASE_URL || postgres ? undefined : await createTestDatabase(label);
  const databaseUrl =
    overrides.DATABASE_URL ?? (postgres ? await createMigratedDatabaseOn(postgres) : (database?.url ?? ""));
  const redisUrl = overrides.REDIS_URL ?? redisServer?.url ?? testRedisUrl();
  const prefix = overrides.QUEUE_PREFIX ?? testQueuePrefix(label);
  // A cluster (REDIS_CLUSTER_NODES) and inbox shards (INBOX_SHARDS) the test set for the apps: the
  // harness's own connection and queues follow them.
  const clusterNodes = overrides.REDIS_CLUSTER_NODES?.split(",").map((node) => {
    const [host = "127.0.0.1", port = "6379"] = node.trim().split(":");
    return { host, port: Number(port) };
  });
  const inboxShards = Number(overrides.INBOX_SHARDS ?? 1);
  const env: Vars = {
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    RESEND_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    API_KEYS: `${TEST_API_KEY},${SECOND_API_KEY}`,
    LOG_LEVEL: "silent",
    ...overrides,
  };
  const clients = system.connect(
    databaseUrl,
    options.connectionTimeoutMs ? { connectionTimeoutMs: options.connectionTimeoutMs } : {},
  );
  // A worker-role connection waits out a restart; no version check, which needs INFO (a managed
  // Redis may refuse it) and is the apps' business, not the test's.
  const redis: RedisClient = createRedis({ REDIS_URL: redisUrl, REDIS_CLUSTER_NODES: clusterNodes }, "worker");
  redis.on("error", () => {});
  const queues = createQueues(redis, prefix, { skipVersionCheck: true }, { inboxShards });
  const allQueues = [...queues.inboxShards, queues.unmatched, queues.maintenance, queues.resend, queues.webhooks];
  for (const queue of allQueues) queue.on("error", () => {});
  const started: Closable[] = [];
  const spawned: Spawned[] = [];
  const { close: closeClients, ...clientFields } = clients;

  const base: HarnessBase<Worker, Api> = {
    label,
    databaseUrl,
    redisUrl,
    prefix,
    env,
    redis,
    queues,
    servers: { redis: redisServer, postgres },
    async deliver(body, svixId = newSvixId()) {
      // As the API writes it: a batch job (of one event here).
      await addInboxBatch(queues, [
        { svixId, receivedAt: new Date().toISOString(), event: body as Record<string, unknown> },
      ]);
      return svixId;
    },
    async deliverAll(events) {
      const receivedAt = new Date().toISOString();
      const payloads = events.map(({ svixId, body }) => ({
        svixId,
        receivedAt,
        event: body as Record<string, unknown>,
      }));
      // Batch jobs as full as the API's, 16 writes side by side.
      const batches: (typeof payloads)[] = [];
      for (let i = 0; i < payloads.length; i += INBOX_BATCH_MAX) batches.push(payloads.slice(i, i + INBOX_BATCH_MAX));
      for (let i = 0; i < batches.length; i += 16) {
        await Promise.all(batches.slice(i, i + 16).map((batch) => addInboxBatch(queues, batch)));
      }
    },
    async drained(timeoutMs = 15_000, watch) {
      const started = Date.now();
      // Shard after shard: a drained shard stays drained (only the test adds jobs).
      for (const shard of queues.inboxShards) {
        const left = Math.max(1, timeoutMs - (Date.now() - started));
        if (!watch) await waitForDrain(shard, left);
        else
          await waitForDrain(shard, left, {
            intervalMs: 100,
            stop: () => {
              const exit = exitOf(watch);
              return exit === undefined ? undefined : `the worker exited (${exit})`;
            },
            detail: () => `\nworker output (last 6000 chars):\n${watch.output().slice(-6_000)}`,
          });
      }
      return Date.now() - started;
    },
    async startWorker(extra = {}, { logger } = {}) {
      const running = closingOnce(await system.worker.start({ env: { ...env, ...extra }, clients, logger }));
      started.push(running);
      return running;
    },
    async startApi(extra = {}, { logger } = {}) {
      if (!system.api) throw new Error("this system has no API: pass the one @mailstate/api/testing exports");
      const running = closingOnce(await system.api.start({ env: { ...env, ...extra }, clients, logger }));
      started.push(running);
      return Object.assign(running, apiClient(running.baseUrl));
    },
    spawnWorker(extra = {}) {
      const worker = spawnProcess("node", ["--import", "tsx", system.worker.main], {
        ...process.env,
        ...env,
        LOG_LEVEL: "info",
        ...extra,
      });
      spawned.push(worker);
      return worker;
    },
    async spawnApi(extra = {}) {
      if (!system.api) throw new Error("this system has no API: pass the one @mailstate/api/testing exports");
      const port = await freePort();
      const api = spawnProcess("node", ["--import", "tsx", system.api.main], {
        ...process.env,
        ...env,
        PORT: String(port),
        HOST: "127.0.0.1",
        LOG_LEVEL: "info",
        ...extra,
      });
      spawned.push(api);
      await api.waitFor(/api listening/, 30_000);
      return { ...apiClient(`http://127.0.0.1:${port}`), process: api };
    },
    async close() {
      await Promise.all(spawned.map((child) => child.stop("SIGKILL")));
      for (const running of started.reverse()) await running.close();
      if (redis.status === "ready" && !redisServer) {
        for (const queue of allQueues) {
          const emptied = queue.obliterate({ force: true });
          // A prefix the test named may be shared by another harness, emptying it at the same moment.
          await (overrides.QUEUE_PREFIX ? emptied.catch(() => {}) : emptied);
        }
      }
      await queues.close().catch(() => {});
      redis.disconnect();
      await closeClients();
      await database?.drop();
      await Promise.all([redisServer?.destroy(), postgres?.destroy()]);
    },
  };
  return Object.assign(base, clientFields);
}

/** A harness with the API started in this process: what the /v1 and end-to-end tests stand on. */
export type Stack<Clients extends Closable, Worker extends Closable, Api extends RunningApi> = Harness<
  Clients,
  Worker,
  Api
> &
  ApiClient & { api: Api };

export async function startStack<Clients extends Closable, Worker extends Closable, Api extends RunningApi>(
  label: string,
  system: System<Clients, Worker, Api>,
  options: HarnessOptions = {},
): Promise<Stack<Clients, Worker, Api>> {
  const harness = await createHarness(label, system, options);
  try {
    const api = await harness.startApi();
    return Object.assign(harness, apiClient(api.baseUrl), { api });
  } catch (error) {
    await harness.close();
    throw error;
  }
}

/** A test may stop an app itself; the harness's close then leaves it be. */
function closingOnce<T extends Closable>(running: T): T {
  let closing: Promise<void> | undefined;
  const close = running.close.bind(running);
  running.close = () => {
    closing ??= close();
    return closing;
  };
  return running;
}

function apiClient(baseUrl: string): ApiClient {
  return {
    baseUrl,
    apiKey: TEST_API_KEY,
    async call(method, path, body, headers = { authorization: `Bearer ${TEST_API_KEY}` }) {
      const response = await fetch(`${baseUrl}${path}`, {
        method,
        headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
        ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
      });
      const text = await response.text();
      return {
        status: response.status,
        contentType: response.headers.get("content-type") ?? "",
        headers: response.headers,
        body: text ? JSON.parse(text) : undefined,
      };
    },
    postWebhook: (event, svixId) => deliverWebhook(baseUrl, event, svixId),
  };
}
