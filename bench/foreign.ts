// `pnpm bench:foreign`: what traffic mailstate did not send costs in Redis, through the whole system
// (signed webhooks into a real API process, a real worker, Redis and PostgreSQL). 2,000 emails of a
// Resend Broadcast, then 2,000 emails no notification carries and no tag names, 3 events each
// (sent, delivered, opened); Redis is measured once the worker has drained, as the sum of MEMORY
// USAGE over the run's key prefix (other users of the server do not count) and as INFO used_memory.
// Env: BENCH_FOREIGN_EMAILS (2000).
import { randomUUID } from "node:crypto";
import { makeEvent } from "@mailstate/resend-events";
import { freePort, prefixMemory, type WorkloadEvent } from "@mailstate/test-support";
import { fire, sign } from "./load.ts";
import { openBenchRun, sleep, startProcess, tearDownRun, waitHealthy } from "./processes.ts";

const env = process.env;
const EMAILS = Number(env.BENCH_FOREIGN_EMAILS ?? 2_000);
const TYPES = ["email.sent", "email.delivered", "email.opened"] as const;

const run = await openBenchRun("foreign");
const { pool, redis, queues, prefix } = run;
const port = await freePort();
startProcess("api", { ...run.env, PORT: String(port) });
startProcess("worker", run.env);
await waitHealthy(port, "/readyz");
await sleep(2_000); // the worker's boot

function emails(label: string, data: Record<string, unknown>): WorkloadEvent[] {
  return Array.from({ length: EMAILS }, () => `re_${label}_${randomUUID()}`).flatMap((emailId) =>
    TYPES.map((type, second) => ({
      svixId: `msg_${randomUUID().replaceAll("-", "")}`,
      emailId,
      body: makeEvent(type, {
        created_at: `2026-11-22T10:00:0${second + 1}.000Z`,
        data: { email_id: emailId, subject: "Spring sale: 20% off", ...data },
      } as never) as Record<string, unknown>,
    })),
  );
}

const logged = async () => Number((await pool.query("SELECT count(*) FROM event_log")).rows[0]?.count ?? 0);
async function drained(count: number): Promise<void> {
  for (let i = 0; i < 6_000; i += 1) {
    const counts = await queues.inbox.getJobCounts("waiting", "active", "delayed", "prioritized");
    if ((await logged()) >= count && Object.values(counts).every((n) => n === 0)) return;
    await sleep(50);
  }
  throw new Error("the worker did not drain");
}
const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.info("memory"))?.[1] ?? Number.NaN);

async function phase(name: string, events: WorkloadEvent[], expectLogged: number) {
  const before = { prefix: await prefixMemory(redis, prefix), used: await usedMemory() };
  const result = await fire(port, sign(events), { concurrency: 32 });
  await drained(expectLogged);
  await sleep(500); // the parking that follows a batch's commit
  const after = { prefix: await prefixMemory(redis, prefix), used: await usedMemory() };
  const parked = await queues.unmatched.getJobCounts("delayed", "waiting", "failed");
  const parkedJobs = Object.values(parked).reduce((sum, n) => sum + n, 0);
  const perEmail = (after.prefix.bytes - before.prefix.bytes) / EMAILS;
  const usedPerEmail = (after.used - before.used) / EMAILS;
  console.log(
    `${name}: ${EMAILS} emails, ${events.length} webhooks (${JSON.stringify(result.statuses)}), ` +
      `Redis +${after.prefix.bytes - before.prefix.bytes} bytes under the prefix = ${perEmail.toFixed(0)} bytes per email ` +
      `(INFO used_memory ${usedPerEmail.toFixed(0)} per email), parked jobs ${parkedJobs}, keys ${after.prefix.keys}`,
  );
}

await phase("broadcast", emails("bc", { broadcast_id: "bc_spring_sale" }), EMAILS * 3);
await phase("untagged", emails("un", {}), EMAILS * 6);

await tearDownRun(run);
