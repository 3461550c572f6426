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

/** `redis-server` with AOF fsynced on every write, no RDB snapshots, as production should run it. */
export async function startRedisServer(): Promise<RedisServer> {
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
