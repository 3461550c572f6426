// Throwaway PostgreSQL and Redis servers for fault tests: each on a port and in a temp dir of its own,
// so killing, stopping or restarting one touches nothing else on the machine.
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { waitUntil } from "./wait.ts";

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no free port")),
      );
    });
  });
}

// --- Redis ------------------------------------------------------------------------------------

export interface RedisServer {
  port: number;
  url: string;
  dir: string;
  /** Start (again) on the same port and dir; with AOF on, it reloads what it had. */
  start(): Promise<void>;
  /** SIGKILL: no shutdown, no final save; what survives is what appendfsync already wrote. */
  kill(): Promise<void>;
  isRunning(): boolean;
  /** Kill it and remove its dir. */
  destroy(): Promise<void>;
}

function redisPing(port: number): Promise<boolean> {
  const result = spawnSync("redis-cli", ["-h", "127.0.0.1", "-p", String(port), "ping"], { encoding: "utf8" });
  return Promise.resolve(result.stdout.trim() === "PONG");
}

/**
 * `redis-server` with AOF fsynced on every write, no RDB snapshots, as production should run it;
 * `extraArgs` add to its command line (cluster mode).
 */
export async function startRedisServer(extraArgs: string[] = []): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "mailstate-redis-"));
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    async start() {
      if (server.isRunning()) return;
      const args = ["--port", String(port), "--bind", "127.0.0.1", "--appendonly", "yes", "--appendfsync", "always"];
      args.push("--dir", dir, "--save", "", "--maxmemory-policy", "noeviction", "--logfile", join(dir, "redis.log"));
      args.push(...extraArgs);
      const started = spawn("redis-server", args, { stdio: "ignore" });
      child = started;
      exited = new Promise((resolve) => started.once("exit", () => resolve()));
      await waitUntil(`redis on port ${port} to answer PING`, () => redisPing(port), 15_000);
    },
    async kill() {
      if (!child || !server.isRunning()) return;
      child.kill("SIGKILL");
      await exited;
    },
    isRunning: () => child !== undefined && child.exitCode === null && child.signalCode === null,
    async destroy() {
      await server.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}

// --- Redis Cluster ---------------------------------------------------------------------------------

export interface RedisClusterServers {
  /** The masters, each a RedisServer to kill and start again (it rejoins with its nodes.conf). */
  nodes: RedisServer[];
  /** `host:port,…` of every node: REDIS_CLUSTER_NODES. */
  seeds: string;
  /** The hash slot of a key (CLUSTER KEYSLOT). */
  slotOf(key: string): number;
  /** The node that serves a slot now. */
  ownerOf(slot: number): RedisServer;
  /** Until every running node says cluster_state:ok (or `fail`, when a master is down). */
  waitForState(state: "ok" | "fail", timeoutMs?: number): Promise<void>;
  /** Kill every node and remove their dirs. */
  destroy(): Promise<void>;
}

function redisCli(port: number, args: string[]): string {
  const result = spawnSync("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args], { encoding: "utf8" });
  return result.stdout ?? "";
}

/** How long a silent master takes to be marked failed: short, so the outage test is quick. */
const CLUSTER_NODE_TIMEOUT_MS = 1_000;

/**
 * A Redis Cluster of `masters` masters and no replicas, from Debian's redis-server 7 in cluster
 * mode, each on a free port and in a temp dir of its own, its slots split evenly by
 * `redis-cli --cluster create`. Each node keeps AOF fsynced on every write, so a master killed and
 * started again has lost nothing.
 */
export async function startRedisCluster(masters = 3): Promise<RedisClusterServers> {
  const nodes: RedisServer[] = [];
  try {
    for (let i = 0; i < masters; i += 1) {
      const args = ["--cluster-enabled", "yes", "--cluster-node-timeout", String(CLUSTER_NODE_TIMEOUT_MS)];
      // nodes.conf lives in the node's dir (the relative path resolves against --dir).
      args.push("--cluster-config-file", "nodes.conf");
      nodes.push(await startRedisServer(args));
    }
    const create = spawnSync(
      "redis-cli",
      [
        "--cluster",
        "create",
        ...nodes.map((node) => `127.0.0.1:${node.port}`),
        "--cluster-replicas",
        "0",
        "--cluster-yes",
      ],
      { encoding: "utf8", input: "yes\n" },
    );
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed:\n${create.stdout}\n${create.stderr}`);
  } catch (error) {
    await Promise.all(nodes.map((node) => node.destroy()));
    throw error;
  }
  const first = nodes[0] as RedisServer;
  const cluster: RedisClusterServers = {
    nodes,
    seeds: nodes.map((node) => `127.0.0.1:${node.port}`).join(","),
    slotOf(key) {
      return Number(redisCli(first.port, ["cluster", "keyslot", key]).trim());
    },
    ownerOf(slot) {
      // CLUSTER NODES: "<id> <ip:port@cport> <flags> <master> <ping> <pong> <epoch> <link> <slot ranges…>".
      const live = nodes.find((node) => node.isRunning()) ?? first;
      for (const line of redisCli(live.port, ["cluster", "nodes"]).split("\n")) {
        const fields = line.trim().split(" ");
        const port = Number(/:(\d+)@/.exec(fields[1] ?? "")?.[1]);
        if (!fields[2]?.includes("master")) continue;
        for (const range of fields.slice(8)) {
          const [start, end = start] = range.split("-").map(Number);
          if (start !== undefined && end !== undefined && slot >= start && slot <= end) {
            const node = nodes.find((candidate) => candidate.port === port);
            if (node) return node;
          }
        }
      }
      throw new Error(`no node serves slot ${slot}`);
    },
    async waitForState(state, timeoutMs = 20_000) {
      await waitUntil(
        `every running cluster node to say cluster_state:${state}`,
        async () =>
          nodes
            .filter((node) => node.isRunning())
            .every((node) => redisCli(node.port, ["cluster", "info"]).includes(`cluster_state:${state}`)),
        timeoutMs,
      );
    },
    async destroy() {
      await Promise.all(nodes.map((node) => node.destroy()));
    },
  };
  await cluster.waitForState("ok");
  return cluster;
}

// --- PostgreSQL ---------------------------------------------------------------------------------

export interface PostgresCluster {
  port: number;
  dir: string;
  /** URL of one database on this cluster. */
  url(database?: string): string;
  start(): Promise<void>;
  /** `pg_ctl stop -m <mode>`: fast rolls back open transactions and disconnects every client. */
  stop(mode?: "fast" | "immediate"): Promise<void>;
  isRunning(): Promise<boolean>;
  /** Stop it and remove its data dir. */
  destroy(): Promise<void>;
}

function postgresBin(name: string): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) {
    const path = join(root, version, "bin", name);
    if (existsSync(path)) return path;
  }
  return name;
}

/** initdb and postgres refuse to run as root: run them as the `postgres` user then. */
function runAsServerUser(command: string, args: string[]): void {
  const asRoot = process.getuid?.() === 0;
  const [file, argv] = asRoot ? ["runuser", ["-u", "postgres", "--", command, ...args]] : [command, args];
  execFileSync(file, argv, { stdio: ["ignore", "pipe", "pipe"] });
}

function serverUserIds(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
  return { uid, gid };
}

/** A fresh cluster (initdb, trust auth, user postgres) on a free port, socket in its own dir. */
export async function startPostgresCluster(): Promise<PostgresCluster> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "mailstate-pg-"));
  chmodSync(dir, 0o755);
  const ids = serverUserIds();
  if (ids) chownSync(dir, ids.uid, ids.gid);
  const data = join(dir, "data");
  runAsServerUser(postgresBin("initdb"), ["-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"]);
  const pgCtl = (args: string[]) => runAsServerUser(postgresBin("pg_ctl"), ["-D", data, ...args]);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;

  const cluster: PostgresCluster = {
    port,
    dir,
    url: (database = "postgres") => `postgresql://postgres@127.0.0.1:${port}/${database}`,
    async start() {
      pgCtl(["-o", options, "-l", join(dir, "server.log"), "-w", "-t", "60", "start"]);
      await waitUntil(`postgres on port ${port} to answer SELECT 1`, () => cluster.isRunning(), 30_000);
    },
    async stop(mode = "fast") {
      pgCtl(["-m", mode, "-w", "-t", "60", "stop"]);
    },
    async isRunning() {
      const client = new pg.Client({ connectionString: cluster.url(), connectionTimeoutMillis: 1_000 });
      client.on("error", () => {});
      try {
        await client.connect();
        await client.query("SELECT 1");
        return true;
      } catch {
        return false;
      } finally {
        await client.end().catch(() => {});
      }
    },
    async destroy() {
      try {
        pgCtl(["-m", "immediate", "-w", "stop"]);
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await cluster.start();
  return cluster;
}

/** Create a database on the cluster and apply every migration, as `pnpm db:migrate` does. */
export async function createMigratedDatabaseOn(cluster: PostgresCluster, name = "mailstate"): Promise<string> {
  const admin = new pg.Client({ connectionString: cluster.url() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = cluster.url(name);
  const migrate = spawnSync("pnpm", ["--silent", "--filter", "@mailstate/db", "migrate"], {
    env: { ...process.env, DATABASE_URL: url },
    encoding: "utf8",
  });
  if (migrate.status !== 0) throw new Error(`migrating ${url} failed:\n${migrate.stdout}\n${migrate.stderr}`);
  return url;
}
