// `mailstate import` against the stand-in over HTTP (GET /emails, Resend's cursor pages, newest
// first): the emails an account sent before mailstate was adopted become notifications with the
// state of their last_event; a rerun imports nothing; Ctrl-C stops after a page and the next run
// resumes; 429s are waited out; bad input exits with a clear message and writes nothing.
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { type MailstateStack, mailstateSystem } from "@mailstate/api/testing";
import { createResendStandin, type ResendStandin, type StoredEmail } from "@mailstate/resend-standin";
import { resendEvent, startStack, waitUntil } from "@mailstate/test-support";
import { runMailstate } from "@mailstate/worker/testing";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

let stack: MailstateStack;
let standin: ResendStandin;
const RESEND_KEY = "re_import_test_key";

beforeAll(async () => {
  standin = await createResendStandin({ apiKey: RESEND_KEY });
  stack = await startStack("e2e_import", mailstateSystem);
  await stack.startWorker();
});
afterAll(async () => {
  await stack?.close();
  await standin?.close();
});
beforeEach(() => standin.reset());

const resendEnv = (extra: Record<string, string> = {}) => ({
  RESEND_API_KEY: RESEND_KEY,
  RESEND_BASE_URL: standin.url,
  RESEND_API_RPS: "100",
  ...extra,
});

const mailstate = (env: Record<string, string>, ...args: string[]) =>
  runMailstate({ databaseUrl: stack.databaseUrl, prefix: stack.prefix, env }, "import", ...args);

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}");

/** `mailstate import …` as a process of its own (Ctrl-C is a signal to a process), at RESEND_API_RPS=1. */
function spawnImport(...args: string[]) {
  const child = spawn(process.execPath, ["--import", "tsx", "apps/worker/src/commands/cli.ts", "import", ...args], {
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: stack.databaseUrl,
      REDIS_URL: stack.redisUrl,
      QUEUE_PREFIX: stack.prefix,
      ...resendEnv({ RESEND_API_RPS: "1" }),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output = { stdout: "", stderr: "" };
  child.stderr.on("data", (chunk) => {
    output.stderr += chunk;
  });
  child.stdout.on("data", (chunk) => {
    output.stdout += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output, exited };
}

/** Ctrl-C once the first page's progress line is out; answers the exit code and what it wrote. */
async function interruptAfterFirstPage(run: ReturnType<typeof spawnImport>) {
  await waitUntil("the first page's progress line", () => run.output.stderr.includes("import: 100 listed"), 30_000, {
    detail: () => run.output.stderr,
  });
  run.child.kill("SIGINT");
  return { code: await run.exited, ...run.output };
}

const LAST_EVENTS = [
  ["delivered", "delivered"],
  ["opened", "delivered"],
  ["clicked", "delivered"],
  ["sent", "sent"],
  ["delivery_delayed", "delivery_delayed"],
  ["bounced", "bounced"],
  ["complained", "complained"],
  ["failed", "failed"],
  ["canceled", "canceled"],
  ["suppressed", "suppressed"],
  ["scheduled", "scheduled"],
  ["queued", "recorded"],
] as const;

/** `count` emails of the account's history, one a minute back from `newest`, cycling through LAST_EVENTS. */
function history(count: number, newest = new Date(Date.now() - 60_000)): StoredEmail[] {
  const tag = randomUUID().slice(0, 8);
  return Array.from({ length: count }, (_, index) =>
    standin.addHistory({
      to: `user${index}-${tag}@example.com`,
      subject: `Receipt ${index}`,
      createdAt: new Date(newest.getTime() - index * 60_000),
      lastEvent: LAST_EVENTS[index % LAST_EVENTS.length]?.[0] ?? "delivered",
    }),
  );
}

async function notificationsOf(emails: StoredEmail[]) {
  return stack.db.notification.findMany({ where: { resendEmailId: { in: emails.map((email) => email.id) } } });
}

describe("mailstate import", () => {
  it("input: 250 emails in Resend's history (3 pages), 40 of them recorded by the app → {listed 250, imported 210, known 40}; each imported one has its to, from, subject, creation time, Message-ID and the state its last_event stands for; the app's own are unchanged; a rerun imports nothing", async () => {
    const emails = history(250);
    const recordedByApp = emails.filter((_, index) => index % 25 < 4);
    for (const email of recordedByApp) {
      const answer = await stack.call("POST", "/v1/notifications", {
        to: email.to,
        from: email.from,
        subject: "recorded by the app",
        resendEmailId: email.id,
      });
      expect(answer.status).toBe(201);
    }
    const run = await mailstate(resendEnv(), "--json");
    expect({ code: run.code, stderr: run.stderr.split("\n").filter((line) => !line.startsWith("import: ")) }).toEqual({
      code: 0,
      stderr: [],
    });
    expect(lastJson(run.stdout)).toEqual({ listed: 250, imported: 210, known: 40 });
    // Three pages: progress says so, one plain line each (stderr is no terminal here).
    expect(run.stderr.split("\n").filter((line) => / listed, /.test(line))).toHaveLength(3);
    expect(standin.routeCalls.get("GET /emails")).toBe(3);

    const rows = new Map((await notificationsOf(emails)).map((row) => [row.resendEmailId, row]));
    expect(rows.size).toBe(250);
    const appIds = new Set(recordedByApp.map((email) => email.id));
    for (const [index, email] of emails.entries()) {
      const row = rows.get(email.id);
      if (appIds.has(email.id)) {
        expect([email.id, row?.subject, row?.state, row?.importedAt]).toEqual([
          email.id,
          "recorded by the app",
          "recorded",
          null,
        ]);
        continue;
      }
      const expected = LAST_EVENTS[index % LAST_EVENTS.length]?.[1];
      expect([email.id, row?.state]).toEqual([email.id, expected]);
      expect(row).toMatchObject({
        recipients: email.to,
        from: email.from,
        subject: email.subject,
        createdAt: new Date(email.createdAt),
        messageId: `<${email.id}@email.amazonses.com>`,
        tenant: null,
      });
      expect(row?.importedAt).toBeInstanceOf(Date);
    }
    // An imported bounce is Undetermined, as the sweeper's: it suppresses nobody.
    const bounced = emails.filter((_, index) => LAST_EVENTS[index % LAST_EVENTS.length]?.[0] === "bounced");
    const bouncedRecipients = bounced.filter((email) => !appIds.has(email.id)).flatMap((email) => email.to);
    expect(await stack.db.suppression.count({ where: { email: { in: bouncedRecipients } } })).toBe(0);
    const bouncedRow = rows.get(bounced.find((email) => !appIds.has(email.id))?.id ?? null);
    const [heal] = (
      await stack.sql.query(
        "SELECT payload FROM delivery_events WHERE notification_id = $1 AND type = 'email.bounced'",
        [bouncedRow?.id],
      )
    ).rows;
    expect(heal.payload).toMatchObject({ data: { bounce: { type: "Undetermined" } }, mailstate: { source: "api" } });
    // An imported complaint does suppress, as its webhook would.
    const complainedRecipients = emails
      .filter((email, index) => LAST_EVENTS[index % LAST_EVENTS.length]?.[0] === "complained" && !appIds.has(email.id))
      .flatMap((email) => email.to);
    expect(complainedRecipients.length).toBeGreaterThan(0);
    const complaints = await stack.db.suppression.findMany({ where: { email: { in: complainedRecipients } } });
    expect(complaints.map((row) => [row.email, row.reason]).sort()).toEqual(
      complainedRecipients.map((email) => [email, "complaint"]).sort(),
    );

    const again = await mailstate(resendEnv(), "--json");
    expect(again.code).toBe(0);
    expect(lastJson(again.stdout)).toEqual({ listed: 250, imported: 0, known: 250 });
    expect(await stack.db.notification.count({ where: { resendEmailId: { in: emails.map((e) => e.id) } } })).toBe(250);
  });

  it("input: a delivered webhook for a history email parked before the import, and a bounce posted after it → the parked one applies at the import, the late one after it, to the imported notification", async () => {
    const [early, late] = history(2).map((email) => email.id) as [string, string];
    standin.setLastEvent(early, "sent");
    standin.setLastEvent(late, "delivered");
    const recipient = `parked-${randomUUID().slice(0, 8)}@example.com`;
    const parkedSvixId = await stack.postWebhook(resendEvent("email.delivered", early, 5, recipient));
    await waitUntil(
      "the early webhook to be logged unmatched",
      async () =>
        (await stack.sql.query("SELECT status FROM event_log WHERE svix_id = $1", [parkedSvixId])).rows[0]?.status ===
        "unmatched",
      10_000,
    );

    const run = await mailstate(resendEnv(), "--json");
    expect(lastJson(run.stdout)).toEqual({ listed: 2, imported: 2, known: 0 });
    const imported = await stack.db.notification.findUniqueOrThrow({ where: { resendEmailId: early } });
    // Resend said sent; the parked webhook says delivered: it applied at the import.
    expect(imported.state).toBe("delivered");
    const parked = await stack.sql.query("SELECT status, notification_id FROM event_log WHERE svix_id = $1", [
      parkedSvixId,
    ]);
    expect(parked.rows[0]).toEqual({ status: "applied", notification_id: imported.id });

    await stack.postWebhook(resendEvent("email.bounced", late, 40, recipient));
    await stack.drained();
    await waitUntil(
      "the late bounce to apply to the imported notification",
      async () => (await stack.db.notification.findUnique({ where: { resendEmailId: late } }))?.state === "bounced",
      10_000,
    );
  });

  it("input: --dry-run over 30 new emails → {listed 30, imported 30, known 0}, and nothing written: no notification, no event, no checkpoint", async () => {
    const emails = history(30);
    const events = (await stack.sql.query("SELECT count(*)::int AS n FROM event_log")).rows[0].n;
    const run = await mailstate(resendEnv(), "--dry-run", "--json");
    expect(run.code).toBe(0);
    expect(lastJson(run.stdout)).toEqual({ listed: 30, imported: 30, known: 0 });
    expect(await notificationsOf(emails)).toEqual([]);
    expect((await stack.sql.query("SELECT count(*)::int AS n FROM event_log")).rows[0].n).toBe(events);
    expect((await stack.sql.query("SELECT * FROM resend_imports")).rows).toEqual([]);
    const text = await mailstate(resendEnv(), "--dry-run");
    expect(text.stdout).toBe("30 emails listed: 30 to import, 0 already known (dry run: nothing written)");
  });

  it("input: --since 2d over emails of the last 4 days (one every 6 h) → only the 8 of the last 2 days are listed; the list stops there", async () => {
    const sixHours = 6 * 3_600_000;
    const now = Date.now();
    const emails = Array.from({ length: 16 }, (_, index) =>
      standin.addHistory({
        to: `since${index}-${randomUUID().slice(0, 6)}@example.com`,
        createdAt: new Date(now - 60_000 - index * sixHours),
      }),
    );
    const run = await mailstate(resendEnv(), "--since", "2d", "--json");
    expect(run.code).toBe(0);
    expect(lastJson(run.stdout)).toEqual({ listed: 8, imported: 8, known: 0 });
    expect((await notificationsOf(emails)).map((row) => row.resendEmailId).sort()).toEqual(
      emails
        .slice(0, 8)
        .map((email) => email.id)
        .sort(),
    );
  });

  it("input: the import run on a terminal (a pty, through script(1)) with --since 1d over 150 emails → a progress bar redrawn in place, ending [##…##] 100% 150 listed, 150 imported, 0 known", async () => {
    const emails = history(150);
    const command = [process.execPath, "--import", "tsx", "apps/worker/src/commands/cli.ts", "import", "--since", "1d"];
    // Asynchronously: the stand-in answering it runs in this process.
    const child = spawn("script", ["-qefc", command.join(" "), "/dev/null"], {
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: stack.databaseUrl,
        REDIS_URL: stack.redisUrl,
        QUEUE_PREFIX: stack.prefix,
        ...resendEnv(),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    const status = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    const run = { status, stdout };
    expect(run.status).toBe(0);
    // Each page redraws the line (carriage return, clear line); the last one is full.
    expect(run.stdout).toContain("\r\u001b[2K");
    expect(run.stdout).toMatch(/\[#{30}\] 100% 150 listed, 150 imported, 0 known, back to \d{4}-\d{2}-\d{2}/);
    expect(run.stdout).toContain("150 emails listed: 150 imported, 0 already known");
    expect(await notificationsOf(emails)).toHaveLength(150);
  });

  it("input: --tenant acme → the imported notification's tenant is acme", async () => {
    const [email] = history(1);
    const run = await mailstate(resendEnv(), "--tenant", "acme", "--json");
    expect(lastJson(run.stdout)).toEqual({ listed: 1, imported: 1, known: 0 });
    const row = await stack.db.notification.findUniqueOrThrow({ where: { resendEmailId: email?.id ?? "" } });
    expect(row.tenant).toBe("acme");
  });

  it("input: GET /emails answers 429 twice, then 503 once → waited out with backoff (stderr says so), and the import completes", async () => {
    history(5);
    standin.injectFault({ route: "GET /emails", status: 429, times: 2 });
    standin.injectFault({ route: "GET /emails", status: 503, times: 1 });
    const run = await mailstate(resendEnv(), "--json");
    expect(run.code).toBe(0);
    expect(lastJson(run.stdout)).toEqual({ listed: 5, imported: 5, known: 0 });
    expect(run.stderr).toMatch(/emails\.list: 429 .*trying again in 500 ms/);
    expect(run.stderr).toMatch(/emails\.list: 503 .*trying again in 2000 ms/);
    expect(standin.routeCalls.get("GET /emails")).toBe(4);
  });

  it("input: the second page of Resend's answer does not parse (an email without its id) → exit 1 naming the page; the first page written, nothing of the second; the next run resumes and completes", async () => {
    const emails = history(150);
    const broken = { object: "list", has_more: false, data: [{ from: "a@b.test", last_event: "sent" }] };
    standin.injectFault({ route: "GET /emails", skip: 1, body: broken });
    const run = await mailstate(resendEnv(), "--json");
    expect({ code: run.code, stdout: run.stdout }).toEqual({ code: 1, stdout: "" });
    expect(run.stderr).toContain(
      `Resend's answer to emails.list (the page after email ${emails[99]?.id}) does not parse: data.0.id: `,
    );
    expect(run.stderr).toContain("nothing of that page was written");
    expect(await notificationsOf(emails)).toHaveLength(100);

    const resumed = await mailstate(resendEnv(), "--json");
    expect(lastJson(resumed.stdout)).toEqual({ listed: 150, imported: 150, known: 0 });
    expect(await notificationsOf(emails)).toHaveLength(150);
  });

  it("input: no RESEND_API_KEY → exit 78 naming RESEND_API_KEY; Resend answers 401 → exit 78 saying the key is wrong; nothing written", async () => {
    const emails = history(3);
    const run = await runMailstate({ databaseUrl: stack.databaseUrl, prefix: stack.prefix }, "import", "--json");
    expect({ code: run.code, stdout: run.stdout }).toEqual({ code: 78, stdout: "" });
    expect(run.stderr).toContain("RESEND_API_KEY is not set");
    standin.injectFault({ route: "GET /emails", status: 401 });
    const refused = await mailstate(resendEnv(), "--json");
    expect(refused.code).toBe(78);
    expect(refused.stderr).toContain("Resend refused RESEND_API_KEY (401): the key is wrong");
    expect(await notificationsOf(emails)).toEqual([]);
  });

  it("input: --since in the future, --since 'last tuesday', an unknown option → exit 64 naming the option", async () => {
    const future = await mailstate(resendEnv(), "--since", "2999-01-01");
    expect(future.code).toBe(64);
    expect(future.stderr).toContain("--since: 2999-01-01 is in the future");
    const garbage = await mailstate(resendEnv(), "--since", "last tuesday");
    expect(garbage.code).toBe(64);
    expect(garbage.stderr).toContain('--since: "last tuesday" is not a date (2026-01-31) or days (30d)');
    const unknown = await mailstate(resendEnv(), "--everything");
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toContain("import: Unknown option '--everything'");
  });

  it("input: Ctrl-C (SIGINT) to `mailstate import` after its first page of 350 → exit 130, 'run the same command again to resume'; the next run resumes after the last page written and ends with every email imported once", async () => {
    const emails = history(350);
    const { code, stdout, stderr } = await interruptAfterFirstPage(spawnImport("--json"));
    expect(code).toBe(130);
    expect(stderr).toContain("run the same command again to resume");
    const stopped = lastJson(stdout);
    expect(stopped.listed).toBeGreaterThanOrEqual(100);
    expect(stopped.listed).toBeLessThan(350);
    const written = await notificationsOf(emails);
    expect(written).toHaveLength(stopped.imported);
    const [checkpoint] = (await stack.sql.query("SELECT after_email_id, listed FROM resend_imports")).rows;
    expect(checkpoint).toEqual({ after_email_id: emails[stopped.listed - 1]?.id, listed: stopped.listed });

    const resumed = await mailstate(resendEnv(), "--json");
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toContain(`resuming after email ${emails[stopped.listed - 1]?.id}`);
    expect(lastJson(resumed.stdout)).toEqual({ listed: 350, imported: 350, known: 0 });
    const rows = await notificationsOf(emails);
    expect(rows).toHaveLength(350);
    expect(new Set(rows.map((row) => row.resendEmailId)).size).toBe(350);
    expect((await stack.sql.query("SELECT * FROM resend_imports")).rows).toEqual([]);
  });

  it("input: Ctrl-C to `mailstate import --since 1d` after its first page of 350 emails, an email created just after that run's cutoff, then `--since 1d` again → the rerun resumes after the last page written, with the cutoff of the run that stopped (so it imports that email, though 1 day back from the rerun is later), and ends with every email imported once", async () => {
    const emails = history(350);
    const { code, stdout } = await interruptAfterFirstPage(spawnImport("--since", "1d", "--json"));
    expect(code).toBe(130);
    const stopped = lastJson(stdout);
    expect(stopped.listed).toBeLessThan(350);
    const [checkpoint] = (await stack.sql.query("SELECT since, since_option, after_email_id FROM resend_imports")).rows;
    expect(checkpoint).toMatchObject({ since_option: "1d", after_email_id: emails[stopped.listed - 1]?.id });
    expect(checkpoint.since).toBeInstanceOf(Date);
    // Past the first run's cutoff by half a second: the oldest email of the list.
    const edge = standin.addHistory({
      to: `edge-${randomUUID().slice(0, 8)}@example.com`,
      createdAt: new Date(checkpoint.since.getTime() + 500),
    });
    expect(Date.now() - 86_400_000).toBeGreaterThan(checkpoint.since.getTime() + 500);

    const resumed = await mailstate(resendEnv(), "--since", "1d", "--json");
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toContain(`resuming after email ${emails[stopped.listed - 1]?.id}`);
    expect(lastJson(resumed.stdout)).toEqual({ listed: 351, imported: 351, known: 0 });
    expect(await notificationsOf([...emails, edge])).toHaveLength(351);
    expect((await stack.sql.query("SELECT * FROM resend_imports")).rows).toEqual([]);
  });

  it("input: an imported email whose recipient is then erased (DELETE /v1/recipients/:email), and the import run again → that email is counted as known and not imported again; the other is known too", async () => {
    const [erased, kept] = history(2) as [StoredEmail, StoredEmail];
    expect(lastJson((await mailstate(resendEnv(), "--json")).stdout)).toEqual({ listed: 2, imported: 2, known: 0 });
    const address = erased.to[0] ?? "";
    const answer = await stack.call("DELETE", `/v1/recipients/${encodeURIComponent(address)}`);
    expect(answer.status).toBe(200);
    expect((await notificationsOf([erased])).length).toBe(0);

    const again = await mailstate(resendEnv(), "--json");
    expect(lastJson(again.stdout)).toEqual({ listed: 2, imported: 0, known: 2 });
    expect((await notificationsOf([erased, kept])).map((row) => row.resendEmailId)).toEqual([kept.id]);
  });
});
