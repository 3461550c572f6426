// `pnpm mailstate <command>` as ops run it: the real CLI in a child process, against a database and
// queue prefix of its own, with the real API and worker doing the rest.
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { type MailstateStack, mailstateSystem } from "@mailstate/api/testing";
import { notificationRecords, ops, suppressions } from "@mailstate/db";
import { makeEvent } from "@mailstate/resend-events";
import {
  databaseUrl,
  freePort,
  newSvixId,
  signedWebhookHeaders,
  startStack,
  testRedisUrl,
  waitUntil,
} from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let stack: MailstateStack;
let prefix: string;

beforeAll(async () => {
  stack = await startStack("e2e_cli", mailstateSystem);
  await stack.startWorker();
  prefix = stack.prefix;
});
afterAll(async () => {
  await stack?.close();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "apps/worker/src/commands/cli.ts", ...args],
      {
        env: {
          ...process.env,
          DATABASE_URL: stack.databaseUrl,
          REDIS_URL: testRedisUrl(),
          QUEUE_PREFIX: prefix,
        },
      },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function postWebhook(type: "email.sent" | "email.delivered", emailId: string, createdAt: string) {
  const body = JSON.stringify(makeEvent(type, { created_at: createdAt, data: { email_id: emailId } }));
  const answer = await stack.call("POST", "/webhooks/resend", body, signedWebhookHeaders(newSvixId(), body));
  expect(answer.status).toBe(200);
}

describe("replay-unmatched, stats, rebuild", () => {
  const claimed = randomUUID();
  const orphan = randomUUID();

  it("events of two unknown email ids are parked; stats shows the 3 events in the log and one delayed unmatched job per email id", async () => {
    await postWebhook("email.sent", claimed, "2026-11-22T10:00:00.100Z");
    await postWebhook("email.delivered", claimed, "2026-11-22T10:00:01.250413+00:00");
    await postWebhook("email.sent", orphan, "2026-11-22T10:00:00.200Z");
    await stack.drained();
    await waitUntil("3 unmatched events in the log", async () => (await ops.countUnmatched(stack.db)) === 3, 10_000);

    const run = await cli("stats", "--json");
    expect(run).toMatchObject({ code: 0, stderr: "" });
    const stats = JSON.parse(run.stdout);
    expect(stats).toMatchObject({ queuePrefix: prefix, unmatchedEvents: 3, queues: { unmatched: { delayed: 2 } } });

    const text = await cli("stats");
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/unmatched\s+waiting 0 {2}active 0 {2}delayed 2/);
    expect(text.stdout).toMatch(/unmatched events {2}3/);
    // The maintenance queue holds the next scheduled PII scrub (ENGAGEMENT_PII_DAYS) and retention pass
    // (RETENTION_DAYS): two delayed jobs.
    expect(stats.queues.maintenance).toMatchObject({ delayed: 2, failed: 0 });
    expect(text.stdout).toMatch(/maintenance\s+waiting \d+ {2}active \d+ {2}delayed 2/);
  });

  it("a notification now carries one id (recorded behind the API's back) → replay-unmatched --email-id applies its 2 events at once", async () => {
    await notificationRecords.record(stack.sql, {
      resendEmailId: claimed,
      recipients: ["ada@example.com"],
      from: "hello@acme.test",
      subject: "Welcome",
    });
    const run = await cli("replay-unmatched", "--email-id", claimed);
    // On a failure, say what the CLI printed: a stray warning and a job that moved on look alike.
    const printed = `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
    expect(run.stderr, printed).toBe("");
    expect(run.code, printed).toBe(0);
    // The first job to run applies both events and removes the other's job: when the worker is
    // quicker than the CLI, that one is gone before the CLI reaches it, and 1 is promoted, not 2.
    expect(run.stdout, printed).toMatch(
      /parked: 2 events of 1 email ids \(1 delayed jobs promoted, 0 failed jobs retried/,
    );
    expect(run.stdout).toContain("applied: 2");
    expect(run.stdout).toContain("still unmatched: 0");
    expect((await ops.statesByEmailId(stack.db, [claimed])).get(claimed)).toBe("delivered");
  });

  it("replay-unmatched of everything → the orphan tried again and still unmatched, reported as such (exit 0)", async () => {
    const run = await cli("replay-unmatched", "--json");
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ parked: 1, promoted: 1, applied: 0, stillUnmatched: 1 });
    const stats = JSON.parse((await cli("stats", "--json")).stdout);
    expect(stats).toMatchObject({ unmatchedEvents: 1, notificationsByState: { delivered: 1 }, refusedSends: 0 });
    expect(await cli("replay-unmatched", "--email-id", randomUUID())).toMatchObject({ code: 0 });
  });

  it("rebuild → 0 differed; a projection tampered with → exit 1 naming it; --write repairs; then 0 again", async () => {
    const healthy = await cli("rebuild");
    expect(healthy.code).toBe(0);
    expect(healthy.stdout).toMatch(/checked 1 notifications in [\d.]+s: 0 differed from the log/);

    await stack.db.$executeRaw`UPDATE notifications SET state = 'sent' WHERE resend_email_id = ${claimed}`;
    const drift = await cli("rebuild");
    expect(drift.code).toBe(1);
    expect(drift.stdout).toContain("1 differed from the log");
    const repaired = await cli("rebuild", "--write");
    expect(repaired.code).toBe(0);
    expect(repaired.stdout).toContain("1 differed from the log (repaired)");
    expect((await cli("rebuild")).stdout).toContain("0 differed");
    expect((await ops.statesByEmailId(stack.db, [claimed])).get(claimed)).toBe("delivered");
  });

  it("a send Resend refused (reported by the SDK) → stats counts it under its state, recorded", async () => {
    const { notification } = await notificationRecords.record(stack.sql, {
      recipients: ["refused@example.com"],
      from: "hello@acme.test",
      subject: "Refused",
    });
    const sendError = { name: "validation_error", message: "Invalid `to` field.", statusCode: 422 };
    await notificationRecords.applySendOutcomes(stack.sql, [{ id: notification.id, sendError }]);
    const stats = JSON.parse((await cli("stats", "--json")).stdout);
    expect(stats).toMatchObject({ notificationsByState: { delivered: 1, recorded: 1 }, refusedSends: 1 });
    expect((await cli("stats")).stdout).toMatch(/of them refused by Resend \(still recorded\) {2}1/);
  });
});

describe("suppressions", () => {
  it("list, filtered by reason and limited; remove an address (any case) → exit 0, again → exit 1", async () => {
    await suppressions.add(stack.db, { email: "hard@example.com", reason: "hard_bounce" });
    await suppressions.add(stack.db, { email: "spam@example.com", reason: "complaint" });

    const all = await cli("suppressions", "list");
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/hard@example\.com\s+hard_bounce/);
    expect(all.stdout).toMatch(/spam@example\.com\s+complaint/);
    const hard = await cli("suppressions", "list", "--reason", "hard_bounce", "--json");
    expect(JSON.parse(hard.stdout).map((row: { email: string }) => row.email)).toEqual(["hard@example.com"]);
    expect((await cli("suppressions", "list", "--limit", "1")).stdout).toContain("1 shown (the newest 1");

    const stats = JSON.parse((await cli("stats", "--json")).stdout);
    expect(stats.suppressionsByReason).toEqual({ hard_bounce: 1, complaint: 1 });

    const removed = await cli("suppressions", "remove", "Hard <HARD@example.com>");
    expect(removed).toMatchObject({ code: 0, stdout: "removed hard@example.com from the suppression list\n" });
    const again = await cli("suppressions", "remove", "hard@example.com");
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("hard@example.com is not suppressed");
  });
});

describe.concurrent("bad usage", () => {
  it.each([
    [["frobnicate"], /unknown command: frobnicate/],
    [[], /usage: pnpm mailstate <command>/],
    [["suppressions"], /suppressions: list or remove\?/],
    [["suppressions", "purge"], /unknown suppressions command: purge/],
    [["suppressions", "remove"], /expected 1 argument\(s\), got 0/],
    [["suppressions", "remove", "not-an-address"], /<email>: must be an email address/],
    [["suppressions", "list", "--reason", "bored"], /--reason: Invalid option/],
    [["suppressions", "list", "--limit", "0"], /--limit: /],
    [["replay-unmatched", "--wait-ms", "soon"], /--wait-ms: /],
    [["rebuild", "--force"], /rebuild: Unknown option '--force'/],
    [["stats", "extra"], /stats: unexpected argument extra/],
  ])("%j → exit 64 and a message", async (args, message) => {
    const run = await cli(...args);
    expect(run.code).toBe(64);
    expect(run.stderr).toMatch(message);
  });

  it("--help → the usage on stdout, exit 0; a bad DATABASE_URL → exit 78 naming it", async () => {
    const help = await cli("--help");
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("replay-unmatched [--email-id <id>]");
    const bad = await new Promise<Run>((resolve) =>
      execFile(
        process.execPath,
        ["--import", "tsx", "apps/worker/src/commands/cli.ts", "stats"],
        { env: { ...process.env, DATABASE_URL: "mysql://nope" } },
        (error, stdout, stderr) => resolve({ code: Number(error?.code ?? 0), stdout, stderr }),
      ),
    );
    expect(bad.code).toBe(78);
    expect(bad.stderr).toContain("DATABASE_URL: must be a postgresql:// URL");
  });
});

describe("PostgreSQL unreachable", () => {
  function cliOn(database: string, ...args: string[]): Promise<Run> {
    return new Promise((resolve) =>
      execFile(
        process.execPath,
        ["--import", "tsx", "apps/worker/src/commands/cli.ts", ...args],
        { env: { ...process.env, DATABASE_URL: database, REDIS_URL: testRedisUrl(), QUEUE_PREFIX: prefix } },
        (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      ),
    );
  }

  // `suppressions list` reads through Prisma, `dead-letters list` through node-postgres: both clients.
  it("no server on the port, or no such database → exit 69 saying PostgreSQL is unreachable, on both clients", async () => {
    const closed = `postgresql://postgres@127.0.0.1:${await freePort()}/mailstate`;
    const missing = databaseUrl(`mailstate_missing_${randomUUID().replaceAll("-", "")}`);
    const runs = await Promise.all(
      [closed, missing].flatMap((database) => [
        cliOn(database, "suppressions", "list"),
        cliOn(database, "dead-letters", "list"),
      ]),
    );
    for (const [i, run] of runs.entries()) {
      const database = i < 2 ? closed : missing;
      expect(run.code, run.stderr).toBe(69);
      expect(run.stdout).toBe("");
      expect(run.stderr).toContain(`mailstate: PostgreSQL at ${database} is unreachable: `);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    }
    expect(runs[2]?.stderr).toMatch(/does not exist/);
    expect(runs[3]?.stderr).toMatch(/does not exist/);
  });
});
