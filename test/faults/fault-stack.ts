// What every fault test stands on: a Redis and a PostgreSQL cluster of its own, the API and the worker
// as real child processes (so they can be killed), a workload with known outcomes, and the checks
// that prove nothing was lost or applied twice.
import { type MailstateHarness, mailstateSystem } from "@mailstate/api/testing";
import type { Db, SqlPool } from "@mailstate/db";
import { makeEvent } from "@mailstate/resend-events";
import {
  createHarness,
  makeWorkload,
  type PostgresCluster,
  type RedisServer,
  signedWebhookHeaders,
  sleep,
  TEST_WEBHOOK_SECRET,
  type WorkloadEvent,
  waitUntil,
} from "@mailstate/test-support";
import { rebuildProjections } from "@mailstate/worker/testing";

/** Read once here: these knobs are the run's, not a build input. */
const runEnv = process.env;

/** `FAULTS_SCALE=ci` runs every fault test smaller and shorter; anything else is the full size. */
const CI_SCALE = runEnv.FAULTS_SCALE === "ci";
export const scaled = <T>(full: T, ci: T): T => (CI_SCALE ? ci : full);

export const WEBHOOK_SECRET = TEST_WEBHOOK_SECRET;
const SOFT_BOUNCE_THRESHOLD = 3;

export { sleep };

/** One line of figures per test, easy to grep out of the run: `FAULT <test>: k=v …`. */
export function report(test: string, figures: Record<string, string | number>): void {
  const line = Object.entries(figures)
    .map(([key, value]) => `${key}=${value}`)
    .join(" ");
  console.log(`FAULT ${test}: ${line}`);
}

/** The harness on a Redis and a PostgreSQL of the test's own, to kill and restart; the apps run as processes. */
export type FaultStack = MailstateHarness & { redisServer: RedisServer; postgres: PostgresCluster };

export async function startFaultStack(label: string): Promise<FaultStack> {
  const harness = await createHarness(`fault-${label}`, mailstateSystem, {
    ownServers: { redis: true, postgres: true },
    env: {
      WORKER_LOCK_DURATION_MS: "3000",
      SOFT_BOUNCE_THRESHOLD: String(SOFT_BOUNCE_THRESHOLD),
      LOG_LEVEL: runEnv.FAULTS_LOG_LEVEL ?? "warn",
    },
  });
  const { redis: redisServer, postgres } = harness.servers;
  if (!redisServer || !postgres) throw new Error("the fault harness started without servers of its own");
  return Object.assign(harness, { redisServer, postgres });
}

// --- the workload --------------------------------------------------------------------------------

export interface FaultWorkload {
  notifications: { emailId: string; recipients: string[] }[];
  events: WorkloadEvent[];
  expected: Map<string, { state: string; opens: number }>;
  /** Address → transient bounces it receives (each counted exactly once). */
  softBounces: Map<string, number>;
  opens: number;
}

/**
 * makeWorkload's delivered/bounced/opened mix (about nine events in ten), plus notifications whose
 * recipient only ever bounces softly, 1–4 times: the counter must end at exactly that number, and
 * the address is suppressed from the third on. The whole list is shuffled.
 */
export function faultWorkload(events: number, label: string): FaultWorkload {
  const soft = Math.max(4, Math.round(events / 50));
  const base = makeWorkload({ notifications: Math.ceil((events - soft * 2.5) / 10), eventsPerNotification: 10, label });
  const workload: FaultWorkload = {
    notifications: [...base.notifications],
    events: [...base.events],
    expected: new Map(base.expected),
    softBounces: new Map(),
    opens: [...base.expected.values()].reduce((sum, { opens }) => sum + opens, 0),
  };
  for (let i = 0; i < soft; i += 1) {
    const emailId = `re_${label}_soft_${i}`;
    const to = [`soft${i}@example.com`];
    const bounces = 1 + (i % 4);
    workload.notifications.push({ emailId, recipients: to });
    workload.expected.set(emailId, { state: "bounced", opens: 0 });
    workload.softBounces.set(to[0] as string, bounces);
    for (let j = 0; j < bounces; j += 1) {
      const body = makeEvent("email.bounced", {
        created_at: new Date(Date.parse("2026-11-22T10:00:00Z") + 1_000 * (j + 1)).toISOString(),
        data: { email_id: emailId, to, bounce: { type: "Transient" } },
      }) as unknown as Record<string, unknown>;
      workload.events.push({ svixId: `msg_${label}_soft_${i}_${j}`, emailId, body });
    }
  }
  // Spread the soft bounces through the stream (deterministic interleave).
  workload.events.sort((a, b) => hash(a.svixId) - hash(b.svixId));
  return workload;
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i += 1) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

export async function recordNotifications(db: Db, workload: FaultWorkload): Promise<void> {
  await db.notification.createMany({
    data: workload.notifications.map((n) => ({
      resendEmailId: n.emailId,
      recipients: n.recipients,
      from: "faults@acme.test",
      subject: "fault",
    })),
  });
}

// --- signed webhooks -----------------------------------------------------------------------------

export function signedHeaders(svixId: string, body: string, at = new Date()): Record<string, string> {
  return signedWebhookHeaders(svixId, body, { secret: WEBHOOK_SECRET, at });
}

/** POST one event as Resend would; answers the status (0 when the connection itself failed). */
export async function postWebhook(baseUrl: string, event: WorkloadEvent): Promise<number> {
  const body = JSON.stringify(event.body);
  try {
    const response = await fetch(`${baseUrl}/webhooks/resend`, {
      method: "POST",
      headers: signedHeaders(event.svixId, body),
      body,
      signal: AbortSignal.timeout(10_000),
    });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 0;
  }
}

/** How long one event is posted again and again before the run gives up on it (Resend's retries). */
const RESEND_RETRIES_MS = 180_000;

/**
 * Post every event at about `rate` per second, `concurrency` in flight, and keep retrying any that
 * is not answered 200 (as Resend does, here after 250 ms) until it is. Answers the statuses seen.
 */
async function postAll(
  baseUrl: string,
  events: WorkloadEvent[],
  {
    rate,
    concurrency = 16,
    accepted = new Set<string>(),
  }: { rate: number; concurrency?: number; accepted?: Set<string> },
): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  const started = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let index = next++; index < events.length; index = next++) {
        const event = events[index] as WorkloadEvent;
        const due = started + (index / rate) * 1_000;
        if (due > Date.now()) await sleep(due - Date.now());
        let last = 0;
        await waitUntil(
          `webhook ${event.svixId} to be answered 200`,
          async () => {
            last = await postWebhook(baseUrl, event);
            statuses.set(last, (statuses.get(last) ?? 0) + 1);
            return last === 200;
          },
          RESEND_RETRIES_MS,
          { intervalMs: 250, detail: () => `last answered ${last}` },
        );
        accepted.add(event.svixId);
      }
    }),
  );
  return statuses;
}

/**
 * The API and a ready worker as child processes, the workload recorded, and its webhooks being
 * posted at `rate` (retried until 200, as Resend does): what the tests that break a store run under.
 */
export async function startPostingWorkload(
  stack: FaultStack,
  { events, label, rate }: { events: number; label: string; rate: number },
) {
  const api = await stack.spawnApi();
  const worker = stack.spawnWorker();
  await worker.waitFor(/worker ready/, 30_000);
  const workload = faultWorkload(events, label);
  await recordNotifications(stack.db, workload);
  const accepted = new Set<string>();
  const started = Date.now();
  const posting = postAll(api.baseUrl, workload.events, { rate, accepted });
  return { api, worker, workload, accepted, started, posting };
}

// --- the checks ----------------------------------------------------------------------------------

export async function loggedCount(sql: SqlPool): Promise<number> {
  const { rows } = await sql.query<{ count: string }>("SELECT count(*) FROM event_log");
  return Number(rows[0]?.count ?? 0);
}

/** svix-ids of these events that are not in the event log. */
export async function missingFromLog(sql: SqlPool, svixIds: string[]): Promise<string[]> {
  const { rows } = await sql.query<{ svix_id: string }>(
    "SELECT svix_id FROM event_log WHERE svix_id = ANY($1::text[])",
    [svixIds],
  );
  const logged = new Set(rows.map((row) => row.svix_id));
  return svixIds.filter((id) => !logged.has(id));
}

export interface Outcome {
  missing: string[];
  failedJobs: number;
  engagementRows: number;
  expectedOpens: number;
  wrongStates: string[];
  wrongSoftBounces: string[];
  drift: number;
}

/** Everything that "0 lost, 0 applied twice, 0 failed" means, measured. */
export async function checkOutcome(stack: FaultStack, workload: FaultWorkload): Promise<Outcome> {
  const { sql, db, queues } = stack;
  const missing = await missingFromLog(
    sql,
    workload.events.map((event) => event.svixId),
  );
  const failed = await queues.inbox.getJobCounts("failed");
  const failedUnmatched = await queues.unmatched.getJobCounts("failed");
  const { rows: engagement } = await sql.query<{ count: string }>("SELECT count(*) FROM engagement_events");
  const { rows: states } = await sql.query<{ email_id: string; state: string; open_count: number }>(
    "SELECT resend_email_id AS email_id, state::text AS state, open_count FROM notifications",
  );
  const wrongStates = states
    .filter((row) => {
      const expected = workload.expected.get(row.email_id);
      return !expected || expected.state !== row.state || expected.opens !== row.open_count;
    })
    .map((row) => `${row.email_id}:${row.state}/${row.open_count}`);
  const { rows: counters } = await sql.query<{ email: string; count: number }>(
    "SELECT email, count FROM soft_bounce_counters",
  );
  const counted = new Map(counters.map((row) => [row.email, row.count]));
  const { rows: suppressed } = await sql.query<{ email: string; reason: string }>(
    "SELECT email, reason::text AS reason FROM suppressions WHERE email LIKE 'soft%'",
  );
  const suppressedSoft = new Map(suppressed.map((row) => [row.email, row.reason]));
  const wrongSoftBounces = [...workload.softBounces].flatMap(([email, bounces]) => {
    const count = counted.get(email) ?? 0;
    const shouldSuppress = bounces >= SOFT_BOUNCE_THRESHOLD;
    const isSuppressed = suppressedSoft.get(email) === "soft_bounce_threshold";
    return count === bounces && shouldSuppress === isSuppressed
      ? []
      : [`${email}: ${count}/${bounces} suppressed=${isSuppressed}`];
  });
  const rebuild = await rebuildProjections(db, sql);
  return {
    missing,
    failedJobs: (failed.failed ?? 0) + (failedUnmatched.failed ?? 0),
    engagementRows: Number(engagement[0]?.count ?? 0),
    expectedOpens: workload.opens,
    wrongStates,
    wrongSoftBounces,
    drift: rebuild.differed,
  };
}

/** The figures of an outcome for the report line. */
export function outcomeFigures(outcome: Outcome): Record<string, number> {
  return {
    lost: outcome.missing.length,
    failed_jobs: outcome.failedJobs,
    engagement_rows: outcome.engagementRows,
    expected_opens: outcome.expectedOpens,
    wrong_states: outcome.wrongStates.length,
    wrong_soft_bounces: outcome.wrongSoftBounces.length,
    drift: outcome.drift,
  };
}

/** What a healthy outcome looks like, for `expect(outcome).toEqual(healthy(workload))`. */
export function healthy(workload: FaultWorkload): Outcome {
  return {
    missing: [],
    failedJobs: 0,
    engagementRows: workload.opens,
    expectedOpens: workload.opens,
    wrongStates: [],
    wrongSoftBounces: [],
    drift: 0,
  };
}
