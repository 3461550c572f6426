// PostgreSQL stopped (pg_ctl stop -m fast) for 60 s (20 s at CI scale) while webhooks are posted:
// the API keeps answering 200, no job fails for good, the backlog drains after, nothing is lost.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkOutcome,
  type FaultStack,
  healthy,
  outcomeFigures,
  report,
  scaled,
  sleep,
  startFaultStack,
  startPostingWorkload,
} from "./fault-stack.ts";

/** Read once here: these knobs are the run's, not a build input. */
const env = process.env;

const OUTAGE_SECONDS = Number(env.FAULTS_PG_OUTAGE_SECONDS ?? scaled(60, 20));
const EVENTS = scaled(5_000, 1_500);
const LEAD_SECONDS = 5;
// Spread over before, during and after the outage.
const RATE = EVENTS / (OUTAGE_SECONDS + 2 * LEAD_SECONDS);

let stack: FaultStack;
beforeAll(async () => {
  stack = await startFaultStack("pg");
});
afterAll(async () => {
  await stack?.close();
});

describe(`PostgreSQL down for ${OUTAGE_SECONDS} s while webhooks are posted`, () => {
  it("keeps answering 200, fails no job for good, drains after, and loses nothing", async () => {
    const { api, worker, workload, accepted, started, posting } = await startPostingWorkload(stack, {
      events: EVENTS,
      label: "pg",
      rate: RATE,
    });

    await sleep(LEAD_SECONDS * 1_000);
    const acceptedBefore = accepted.size;
    await stack.postgres.stop("fast");
    const downAt = Date.now();
    await sleep(OUTAGE_SECONDS * 1_000);
    const acceptedDuringOutage = accepted.size - acceptedBefore;
    const backlogAtRestart = await stack.queues.inbox.getJobCounts("waiting", "delayed", "active");
    await stack.postgres.start();
    const backAt = Date.now();
    const outageSeconds = (backAt - downAt) / 1_000;

    const statuses = await posting;
    await stack.drained(180_000, worker);
    const drainMs = Date.now() - backAt;
    const outcome = await checkOutcome(stack, workload);
    const { rows } = await stack.sql.query<{ max: number }>(
      "SELECT extract(epoch FROM max(received_at) - $1::timestamptz) * 1000 AS max FROM delivery_events",
      [new Date(backAt)],
    );
    report("postgres-outage", {
      events: workload.events.length,
      rate_per_s: RATE.toFixed(0),
      outage_seconds: outageSeconds.toFixed(1),
      accepted_during_outage: acceptedDuringOutage,
      backlog_at_restart: JSON.stringify(backlogAtRestart),
      statuses: JSON.stringify(Object.fromEntries(statuses)),
      drain_after_restart_ms: drainMs,
      last_logged_after_restart_ms: Math.round(Number(rows[0]?.max ?? 0)),
      total_seconds: ((Date.now() - started) / 1_000).toFixed(1),
      ...outcomeFigures(outcome),
    });

    expect(api.process.child.exitCode).toBeNull();
    expect(worker.child.exitCode).toBeNull();
    // The webhook route never touches PostgreSQL: the outage costs Resend nothing.
    expect([...statuses.keys()]).toEqual([200]);
    expect(acceptedDuringOutage).toBeGreaterThan(0);
    expect(outcome).toEqual(healthy(workload));
  }, 900_000);
});
