// Nothing accepted is lost: text PostgreSQL refuses is cleaned, data it refuses for good is
// dead-lettered at once, and a job whose retries run out during an outage is dead-lettered, not
// deleted. `mailstate dead-letters` lists and retries them once the cause is fixed.
import { deadLetters, events, notificationReads, notificationRecords } from "@mailstate/db";
import { createLogger } from "@mailstate/runtime";
import { createHarness, eventFor, waitUntil } from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sweepFailedInbox } from "../src/dead-letters.ts";
import { runMailstate } from "./cli-run.ts";
import { recordNotification, type WorkerHarness, workerSystem } from "./testing.ts";

let h: WorkerHarness;
const target = () => ({ databaseUrl: h.databaseUrl, prefix: h.prefix });

beforeAll(async () => {
  h = await createHarness("dead_letters", workerSystem);
  await h.startWorker();
});
afterAll(async () => {
  await h?.close();
});

async function stateOf(id: string) {
  return (await notificationReads.findById(h.db, id))?.state;
}

describe("text PostgreSQL refuses", () => {
  it('input: email.failed whose reason ends in a lone surrogate ("Hi \\ud83d") → applied: failed, stored with U+FFFD', async () => {
    const n = await recordNotification(h.sql, "re_surrogate");
    const svixId = await h.deliver(eventFor("email.failed", "re_surrogate", 2, { failed: { reason: "Hi \ud83d" } }));
    await h.drained();
    expect(await stateOf(n.id)).toBe("failed");
    const logged = await events.findBySvixId(h.db, svixId);
    expect(logged).toMatchObject({ status: "applied", payload: { data: { failed: { reason: "Hi \ufffd" } } } });
    expect(await deadLetters.list(h.sql, {})).toEqual([]);
  });
});

describe("a permanent error", () => {
  it("input: an event a CHECK constraint refuses (SQLSTATE 23514), beside a clean one → the clean one applies, the refused one is dead-lettered at once; retry fails while the cause stays, applies once it is fixed", async () => {
    const poisoned = await recordNotification(h.sql, "re_poison", ["poison@example.com"]);
    const clean = await recordNotification(h.sql, "re_clean", ["clean@example.com"]);
    await h.sql.query(
      `ALTER TABLE delivery_events ADD CONSTRAINT no_poison
         CHECK (payload->>'created_at' IS DISTINCT FROM '2026-11-22T10:00:07.000Z') NOT VALID`,
    );
    const poisonId = await h.deliver(eventFor("email.delivered", "re_poison", 7));
    await h.deliver(eventFor("email.delivered", "re_clean", 2));
    await h.drained();

    expect(await stateOf(clean.id)).toBe("delivered");
    expect(await stateOf(poisoned.id)).toBe("recorded");
    expect(await events.findBySvixId(h.db, poisonId)).toBeNull();
    // Not retried for a day: dead-lettered on the first attempt, and the job is done with.
    expect(await h.queues.inbox.getJobCounts("failed", "delayed")).toEqual({ failed: 0, delayed: 0 });
    const [letter] = await deadLetters.list(h.sql, {});
    expect(letter).toMatchObject({
      svixId: poisonId,
      cause: "permanent_error",
      errorCode: "23514",
      eventType: "email.delivered",
      emailId: "re_poison",
      attempts: 1,
      resolvedAt: null,
    });
    expect(JSON.parse(letter?.body ?? "null")).toMatchObject({ created_at: "2026-11-22T10:00:07.000Z" });

    const stats = JSON.parse((await runMailstate(target(), "stats", "--json")).stdout);
    expect(stats).toMatchObject({ openDeadLetters: 1 });
    const listed = await runMailstate(target(), "dead-letters", "list");
    expect(listed).toMatchObject({ code: 0 });
    expect(listed.stdout).toContain(poisonId);
    expect(listed.stdout).toContain("permanent_error 23514");

    const stillBroken = await runMailstate(target(), "dead-letters", "retry", poisonId);
    expect(stillBroken.code).toBe(1);
    expect(stillBroken.stdout).toContain(`${poisonId}  failed_again`);
    expect((await deadLetters.list(h.sql, {}))[0]).toMatchObject({ attempts: 2, resolvedAt: null });

    await h.sql.query("ALTER TABLE delivery_events DROP CONSTRAINT no_poison");
    const fixed = await runMailstate(target(), "dead-letters", "retry", "--all", "--json");
    expect(fixed.code).toBe(0);
    expect(JSON.parse(fixed.stdout)).toEqual({ retried: 1, outcomes: { [poisonId]: "applied" } });
    expect(await stateOf(poisoned.id)).toBe("delivered");
    expect(await runMailstate(target(), "dead-letters", "list")).toMatchObject({ stdout: "no open dead letters" });
    const all = await runMailstate(target(), "dead-letters", "list", "--all", "--json");
    expect(JSON.parse(all.stdout)).toMatchObject([{ svixId: poisonId, resolution: "applied" }]);
  });

  it("input: an inbox job whose payload is not a webhook ({svixId} without event) → dead-lettered as unreadable_payload, not retried", async () => {
    await h.queues.inbox.add("inbox.reconcile", { svixId: "msg_unreadable" }, { jobId: "event-msg_unreadable" });
    await h.drained();
    const [letter] = await deadLetters.list(h.sql, { svixId: "msg_unreadable" });
    expect(letter).toMatchObject({ cause: "unreadable_payload", body: '{"svixId":"msg_unreadable"}' });
    expect(letter?.error).toContain("invalid inbox.reconcile payload");
    expect(await h.queues.inbox.getJobCounts("failed")).toEqual({ failed: 0 });
  });

  it("input: dead-letters retry with neither --all nor an id, and with an unknown id → exit 64, exit 1", async () => {
    expect(await runMailstate(target(), "dead-letters", "retry")).toMatchObject({ code: 64 });
    expect(await runMailstate(target(), "dead-letters", "retry", "msg_nope")).toMatchObject({
      code: 1,
      stderr: "no open dead letter has svix id msg_nope",
    });
  });
});

describe("outcomes per event in a batch job", () => {
  const payload = (svixId: string, event: object) => ({ svixId, receivedAt: new Date().toISOString(), event });

  it("input: one inbox.batch job of a refused event (SQLSTATE 23514), an unreadable one ({svixId} alone) and two clean ones → the clean ones apply, each bad one is dead-lettered alone, the job completes", async () => {
    const refused = await recordNotification(h.sql, "re_batch_refused", ["refused@example.com"]);
    const cleanA = await recordNotification(h.sql, "re_batch_a", ["a@example.com"]);
    const cleanB = await recordNotification(h.sql, "re_batch_b", ["b@example.com"]);
    await h.sql.query(
      `ALTER TABLE delivery_events ADD CONSTRAINT no_batch_poison
         CHECK (payload->>'created_at' IS DISTINCT FROM '2026-11-22T10:00:09.000Z') NOT VALID`,
    );
    try {
      await h.queues.inbox.add("inbox.batch", {
        events: [
          payload("msg_batch_a", eventFor("email.delivered", "re_batch_a", 2)),
          payload("msg_batch_refused", eventFor("email.delivered", "re_batch_refused", 9)),
          { svixId: "msg_batch_unreadable" },
          payload("msg_batch_b", eventFor("email.bounced", "re_batch_b", 3)),
        ],
      });
      await h.drained();
    } finally {
      await h.sql.query("ALTER TABLE delivery_events DROP CONSTRAINT no_batch_poison");
    }
    expect(await stateOf(cleanA.id)).toBe("delivered");
    expect(await stateOf(cleanB.id)).toBe("bounced");
    expect(await stateOf(refused.id)).toBe("recorded");
    expect(await h.queues.inbox.getJobCounts("failed", "delayed")).toEqual({ failed: 0, delayed: 0 });
    const [refusedLetter] = await deadLetters.list(h.sql, { svixId: "msg_batch_refused" });
    expect(refusedLetter).toMatchObject({ cause: "permanent_error", errorCode: "23514", emailId: "re_batch_refused" });
    const [unreadable] = await deadLetters.list(h.sql, { svixId: "msg_batch_unreadable" });
    expect(unreadable).toMatchObject({ cause: "unreadable_payload", body: '{"svixId":"msg_batch_unreadable"}' });
    expect(unreadable?.error).toContain("invalid inbox.batch event 2");
    expect(await deadLetters.list(h.sql, { svixId: "msg_batch_a" })).toEqual([]);
  });

  it("input: an inbox.batch job whose PostgreSQL write of one event fails transiently (SQLSTATE 40001 from a trigger) → the others apply at once, the job is retried holding only that event, and applies it once the fault is gone", async () => {
    const stuck = await recordNotification(h.sql, "re_batch_stuck", ["stuck@example.com"]);
    const fine = await recordNotification(h.sql, "re_batch_fine", ["fine@example.com"]);
    await h.sql.query(`
      CREATE FUNCTION batch_fault() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.payload->>'created_at' = '2026-11-22T10:00:11.000Z' THEN
          RAISE EXCEPTION 'could not serialize access' USING ERRCODE = '40001';
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER batch_fault BEFORE INSERT ON delivery_events FOR EACH ROW EXECUTE FUNCTION batch_fault();`);
    let jobId = "";
    try {
      const job = await h.queues.inbox.add(
        "inbox.batch",
        {
          events: [
            payload("msg_batch_stuck", eventFor("email.delivered", "re_batch_stuck", 11)),
            payload("msg_batch_fine", eventFor("email.delivered", "re_batch_fine", 2)),
          ],
        },
        { attempts: 50, backoff: { type: "fixed", delay: 200 } },
      );
      jobId = job.id ?? "";
      await waitUntil(
        "the job to be retried with the stuck event alone",
        async () => {
          const again = await h.queues.inbox.getJob(jobId);
          return again !== undefined && again.attemptsMade >= 1 && again.data.events.length === 1;
        },
        15_000,
      );
      expect(await stateOf(fine.id)).toBe("delivered");
      expect(await stateOf(stuck.id)).toBe("recorded");
      expect((await h.queues.inbox.getJob(jobId))?.data.events.map((e: { svixId: string }) => e.svixId)).toEqual([
        "msg_batch_stuck",
      ]);
    } finally {
      await h.sql.query("DROP TRIGGER batch_fault ON delivery_events; DROP FUNCTION batch_fault()");
    }
    await h.drained();
    expect(await stateOf(stuck.id)).toBe("delivered");
    expect(await deadLetters.list(h.sql, { svixId: "msg_batch_stuck" })).toEqual([]);
    expect(await h.queues.inbox.getJob(jobId)).toBeUndefined();
  });
});

describe("retries exhausted during a long PostgreSQL outage", () => {
  it("input: PostgreSQL stopped while a batch job of two events spends its last attempt → the failed job stays in Redis; once PostgreSQL is back the sweep dead-letters each event and only then removes the job; retry applies it", async () => {
    // PostgreSQL of its own, to stop; connections that give up fast while it is down.
    const outage = await createHarness("outage", workerSystem, {
      ownServers: { postgres: true },
      connectionTimeoutMs: 500,
    });
    const { db, sql, queues, prefix, databaseUrl } = outage;
    const cluster = outage.servers.postgres;
    if (!cluster) throw new Error("the outage harness has no PostgreSQL of its own");
    const logger = createLogger("outage-test", "silent");
    try {
      await outage.startWorker({ WORKER_CONCURRENCY: "4" });
      const { notification } = await notificationRecords.record(sql, {
        resendEmailId: "re_outage",
        recipients: ["ada@example.com"],
        from: "hello@acme.test",
        subject: "Hello",
      });
      await cluster.stop("fast");
      const svixId = "msg_outage";
      const jobId = "batch-outage";
      // The catalog's day of retries, shortened: two attempts, 100 ms apart. A batch of two events.
      await queues.inbox.add(
        "inbox.batch",
        {
          events: [
            { svixId, receivedAt: new Date().toISOString(), event: eventFor("email.delivered", "re_outage", 2) },
            {
              svixId: "msg_outage_unknown",
              receivedAt: new Date().toISOString(),
              event: eventFor("email.sent", "re_outage_unknown", 1),
            },
          ],
        },
        { jobId, attempts: 2, backoff: { type: "fixed", delay: 100 }, removeOnFail: false },
      );
      await waitUntil(
        "the job to fail its last attempt",
        async () => (await queues.inbox.getJobState(jobId)) === "failed",
        30_000,
        { intervalMs: 100 },
      );
      // PostgreSQL cannot take the dead letter: the job is not deleted.
      expect(await sweepFailedInbox(sql, queues, logger)).toBe(0);
      expect(await queues.inbox.getJobState(jobId)).toBe("failed");

      await cluster.start();
      expect(await sweepFailedInbox(sql, queues, logger)).toBe(1);
      expect(await queues.inbox.getJob(jobId)).toBeUndefined();
      // One dead letter per event of the batch.
      const letters = await deadLetters.list(sql, {});
      expect(letters.map((letter) => letter.svixId).sort()).toEqual([svixId, "msg_outage_unknown"]);
      expect(letters.find((letter) => letter.svixId === svixId)).toMatchObject({
        cause: "retries_exhausted",
        attempts: 2,
        emailId: "re_outage",
      });

      const retried = await runMailstate({ databaseUrl, prefix }, "dead-letters", "retry", svixId);
      expect(retried).toMatchObject({ code: 0, stdout: `${svixId}  applied` });
      expect((await notificationReads.findById(db, notification.id))?.state).toBe("delivered");
      expect(await events.hasUnmatched(sql, "re_outage")).toBe(false);
    } finally {
      await outage.close();
    }
  }, 90_000);
});
