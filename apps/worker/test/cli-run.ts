// The ops CLI run in this process (the same entry as `pnpm mailstate`, without spawning), on a
// harness's database and queue prefix.
import { testRedisUrl } from "@mailstate/test-support";
import { runCli } from "../src/commands/run.ts";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runMailstate(
  target: { databaseUrl: string; prefix: string; env?: Record<string, string> },
  ...args: string[]
): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(
    args,
    {
      DATABASE_URL: target.databaseUrl,
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: target.prefix,
      // A harness on a Redis Cluster: its seed node, the cluster and the inbox shards.
      ...(target.env?.REDIS_CLUSTER_NODES
        ? {
            REDIS_URL: target.env.REDIS_URL ?? testRedisUrl(),
            REDIS_CLUSTER_NODES: target.env.REDIS_CLUSTER_NODES,
            INBOX_SHARDS: target.env.INBOX_SHARDS ?? "1",
          }
        : {}),
      // The scope the apps run with, when the target has their environment (a harness).
      ...(target.env?.SUPPRESSION_SCOPE ? { SUPPRESSION_SCOPE: target.env.SUPPRESSION_SCOPE } : {}),
      // And what reconciling against Resend reads (sweep, suppression sync), and retention's days.
      ...Object.fromEntries(
        Object.entries(target.env ?? {}).filter(
          ([name]) => /^(RESEND_|SWEEPER_|RETENTION_DAYS$)/.test(name) && name !== "RESEND_WEBHOOK_SECRET",
        ),
      ),
    },
    { out: (line) => out.push(line), err: (line) => err.push(line) },
  );
  return { code, stdout: out.join("\n"), stderr: err.join("\n") };
}
