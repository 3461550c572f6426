// The reconcile transaction under contention and under a small cache, called directly on a
// database of its own: what two batches over the same addresses do, and what late webhooks of
// earlier deliveries do to a run of soft bounces.
import { randomUUID } from "node:crypto";
import { softBounces, suppressions, withSqlTransaction } from "@mailstate/db";
import { parseResendEvent } from "@mailstate/resend-events";
import { createHarness, eventFor, waitUntil } from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ParsedEventCache } from "../src/reconcile/event-cache.ts";
import { computeProjections } from "../src/reconcile/project.ts";
import { rebuildProjections } from "../src/reconcile/rebuild.ts";
import { reconcileEvents } from "../src/reconcile/reconcile-events.ts";
import { recordNotification, type WorkerHarness, workerSystem } from "./testing.ts";

let h: WorkerHarness;
beforeAll(async () => {
  h = await createHarness("contention", workerSystem);
});
afterAll(async () => {
  await h?.close();
});

const policy = { softBounceThreshold: 3, scope: "global" as const };
const transient = { bounce: { type: "Transient" } };

function incoming(body: object) {
  return { svixId: `msg_${randomUUID()}`, receivedAt: new Date(), raw: body as Record<string, unknown> };
}

describe("two batches over the same addresses at once", () => {
  it("input: 20 rounds of [soft bounce to x, delivery to y] against [soft bounce to y, delivery to x] → every batch commits, none deadlocks", async () => {
    const [x, y] = ["x-contended@example.com", "y-contended@example.com"];
    for (let round = 0; round < 20; round += 1) {
      // Runs that the deliveries (newer in event time) end, so both batches write both rows.
      await h.sql.query(
        `INSERT INTO soft_bounce_counters (email, count, last_event_id, last_bounce_at, updated_at)
         SELECT e, 1, 'msg_seed', '2026-11-22T09:00:00Z', now() FROM unnest($1::text[]) AS e
         ON CONFLICT (email, tenant) DO UPDATE SET count = 1, last_bounce_at = '2026-11-22T09:00:00Z'`,
        [[x, y]],
      );
      const emailId = `re_contended_${round}`;
      const batch = (bounced: string, delivered: string) => [
        incoming(eventFor("email.bounced", emailId, 1, transient, [bounced])),
        incoming(eventFor("email.delivered", emailId, 2, {}, [delivered])),
      ];
      const outcomes = await Promise.allSettled([
        reconcileEvents(h.sql, batch(x, y), policy, new ParsedEventCache()),
        reconcileEvents(h.sql, batch(y, x), policy, new ParsedEventCache()),
      ]);
      const failures = outcomes.flatMap((outcome) => (outcome.status === "rejected" ? [String(outcome.reason)] : []));
      expect(failures, `round ${round}`).toEqual([]);
    }
  });
});

describe("how many locks a batch takes", () => {
  const advisoryLocksHeld = (emails: string[]) =>
    withSqlTransaction(h.sql, async (client) => {
      await suppressions.lockAddresses(client, emails);
      const { rows } = await client.query<{ count: string }>(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()",
      );
      return Number(rows[0]?.count);
    });

  it("input: 10 addresses (one twice) → the shared gate and one lock per distinct address (10 + 1); 60 addresses → the gate alone, exclusively (1)", async () => {
    const ten = Array.from({ length: 10 }, (_, i) => `few${i}@example.com`);
    expect(await advisoryLocksHeld([...ten, "few0@example.com"])).toBe(11);
    expect(await advisoryLocksHeld(Array.from({ length: 60 }, (_, i) => `many${i}@example.com`))).toBe(1);
  });

  it("input: a batch bouncing 60 addresses at once with a batch of few, over the same addresses, 5 rounds → both commit every time, counts exact", async () => {
    const many = Array.from({ length: 60 }, (_, i) => `wide${i}@example.com`);
    for (let round = 0; round < 5; round += 1) {
      const wide = incoming(eventFor("email.bounced", `re_wide_${round}`, 10 + round, transient, many));
      const narrow = [
        incoming(eventFor("email.bounced", `re_narrow_${round}`, 10 + round, transient, [many[59] as string])),
        incoming(eventFor("email.delivered", `re_narrow_d_${round}`, 1, {}, [many[0] as string])),
      ];
      const outcomes = await Promise.allSettled([
        reconcileEvents(h.sql, [wide], policy, new ParsedEventCache()),
        reconcileEvents(h.sql, narrow, policy, new ParsedEventCache()),
      ]);
      expect(outcomes.filter((outcome) => outcome.status === "rejected")).toEqual([]);
    }
    expect(await softBounces.find(h.db, many[59] as string)).toMatchObject({ count: 10 });
    expect(await softBounces.find(h.db, many[1] as string)).toMatchObject({ count: 5 });
  });
});

describe("a run of soft bounces in event time", () => {
  it("input: bounces at :10 and :11, then a late webhook of a delivery at :05, then a bounce at :12 → the run is 3 and the address suppressed", async () => {
    const to = ["late-delivery@example.com"];
    await h.deliver(eventFor("email.bounced", "re_run_1", 10, transient, to));
    await h.deliver(eventFor("email.bounced", "re_run_2", 11, transient, to));
    await h.startWorker();
    await h.drained();
    await h.deliver(eventFor("email.delivered", "re_run_0", 5, {}, to));
    await h.drained();
    expect(await softBounces.find(h.db, to[0] as string)).toMatchObject({ count: 2 });
    await h.deliver(eventFor("email.bounced", "re_run_3", 12, transient, to));
    await h.drained();
    expect(await softBounces.find(h.db, to[0] as string)).toMatchObject({ count: 3 });
    expect(await suppressions.find(h.db, to[0] as string)).toMatchObject({ reason: "soft_bounce_threshold" });
  });

  it("input: a bounce at :20, then a delivery at :21 → the run ends (the delivery is newer)", async () => {
    const to = ["recovered-late@example.com"];
    await h.deliver(eventFor("email.bounced", "re_rec_1", 20, transient, to));
    await h.drained();
    await h.deliver(eventFor("email.delivered", "re_rec_2", 21, {}, to));
    await h.drained();
    expect(await softBounces.find(h.db, to[0] as string)).toMatchObject({ count: 0 });
  });

  it("input: a bounce at :30, a delivery at :40, then late webhooks of bounces at :35 and :36, then bounces at :41 and :42 → a run of 2: the late ones are before the delivery, no suppression", async () => {
    const to = ["late-bounces@example.com"];
    await h.deliver(eventFor("email.bounced", "re_lb_1", 30, transient, to));
    await h.drained();
    await h.deliver(eventFor("email.delivered", "re_lb_2", 40, {}, to));
    await h.drained();
    await h.deliver(eventFor("email.bounced", "re_lb_3", 35, transient, to));
    await h.deliver(eventFor("email.bounced", "re_lb_4", 36, transient, to));
    await h.drained();
    expect(await softBounces.find(h.db, to[0] as string)).toMatchObject({ count: 0 });
    await h.deliver(eventFor("email.bounced", "re_lb_5", 41, transient, to));
    await h.deliver(eventFor("email.bounced", "re_lb_6", 42, transient, to));
    await h.drained();
    expect(await softBounces.find(h.db, to[0] as string)).toMatchObject({ count: 2 });
    expect(await suppressions.find(h.db, to[0] as string)).toBeNull();
  });
});

describe("the parsed-event cache", () => {
  it("input: a fold whose one uncached event evicts cached ones it still needs → the projection, not a throw", async () => {
    const notification = await recordNotification(h.sql, "re_cache", ["cache@example.com"]);
    const bodies = [
      eventFor("email.sent", "re_cache", 1, {}, ["cache@example.com"]),
      eventFor("email.delivered", "re_cache", 2, {}, ["cache@example.com"]),
      eventFor("email.opened", "re_cache", 3, {}, ["cache@example.com"]),
    ];
    const events = bodies.map(incoming);
    await reconcileEvents(h.sql, events, policy, new ParsedEventCache(0));
    // A cache of 10, full: the last two events as its oldest entries, and eight others. The fold
    // meets the first event uncached; caching it evicts the second before the fold reaches it.
    const cache = new ParsedEventCache(10);
    for (const event of events.slice(1)) cache.set(event.svixId, parseResendEvent(event.raw));
    for (let i = 0; i < 8; i += 1) cache.set(`msg_filler_${i}`, parseResendEvent(bodies[0]));
    const projections = await computeProjections(h.sql, [notification.id], cache);
    expect(projections.get(notification.id)).toMatchObject({ state: "delivered", openCount: 1 });
  });
});

describe("rebuild while the worker writes", () => {
  it("input: rebuild run over and over while 1,200 events of 100 notifications are reconciled → 0 drift reported each time", async () => {
    const ids = Array.from({ length: 100 }, (_, i) => `re_live_${i}`);
    for (const id of ids) await recordNotification(h.sql, id, [`${id}@example.com`]);
    const bodies = ids.flatMap((id) => [
      eventFor("email.sent", id, 1, {}, [`${id}@example.com`]),
      eventFor("email.delivered", id, 2, {}, [`${id}@example.com`]),
      ...Array.from({ length: 10 }, (_, j) => eventFor("email.opened", id, 3 + j, {}, [`${id}@example.com`])),
    ]);
    await h.startWorker();
    const feeding = (async () => {
      for (const body of bodies) await h.deliver(body);
    })();
    const reports: number[] = [];
    let fed = false;
    let feedFailed: unknown;
    void feeding.then(
      () => {
        fed = true;
      },
      (error: unknown) => {
        feedFailed = error;
      },
    );
    await waitUntil(
      "the feed to end, with the rebuild run all the while (3 times at least)",
      async () => {
        if (feedFailed) throw feedFailed;
        reports.push((await rebuildProjections(h.db, h.sql)).differed);
        return fed && reports.length >= 3;
      },
      60_000,
      { intervalMs: 0 },
    );
    await feeding;
    await h.drained();
    reports.push((await rebuildProjections(h.db, h.sql)).differed);
    // Each rebuild's count of projections that differed, in order: every one 0.
    expect(reports).toEqual(reports.map(() => 0));
  });
});

describe("a redelivery reaching the log after its queue job is gone", () => {
  it("input: an email.delivered with no created_at (logged invalid at its time of receipt), reconciled again a minute later → one row in the log, the second outcome duplicate", async () => {
    const body = { type: "email.delivered", data: { email_id: "re_undated", to: ["undated@example.com"] } };
    const first = incoming(body);
    const again = { ...first, receivedAt: new Date(first.receivedAt.getTime() + 60_000) };
    const one = await reconcileEvents(h.sql, [first], policy, new ParsedEventCache(0));
    const two = await reconcileEvents(h.sql, [again], policy, new ParsedEventCache(0));
    expect([one.outcomes.get(first.svixId), two.outcomes.get(first.svixId)]).toEqual(["invalid", "duplicate"]);
    const { rows } = await h.sql.query("SELECT status::text AS status FROM event_log WHERE svix_id = $1", [
      first.svixId,
    ]);
    expect(rows).toEqual([{ status: "invalid" }]);
  });

  it("input: an email.opened applied, reconciled again in a later batch → one engagement row, counted once", async () => {
    const notification = await recordNotification(h.sql, "re_open_twice", ["twice@example.com"]);
    const open = incoming(eventFor("email.opened", "re_open_twice", 5, {}, ["twice@example.com"]));
    await reconcileEvents(h.sql, [open], policy, new ParsedEventCache(0));
    const again = await reconcileEvents(h.sql, [open], policy, new ParsedEventCache(0));
    expect(again.outcomes.get(open.svixId)).toBe("duplicate");
    const { rows } = await h.sql.query<{ open_count: number }>("SELECT open_count FROM notifications WHERE id = $1", [
      notification.id,
    ]);
    expect(rows).toEqual([{ open_count: 1 }]);
    const logged = await h.sql.query("SELECT 1 FROM engagement_events WHERE svix_id = $1", [open.svixId]);
    expect(logged.rowCount).toBe(1);
  });
});
