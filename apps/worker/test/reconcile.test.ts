// The worker end to end through the real queue, on real PostgreSQL and Redis.
import { deadLetters, engagement, events, notificationReads, softBounces, suppressions } from "@mailstate/db";
import { createHarness, eventFor, waitUntil } from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rebuildProjections } from "../src/reconcile/rebuild.ts";
import { recordNotification, type WorkerHarness, workerSystem } from "./testing.ts";

let h: WorkerHarness;
beforeAll(async () => {
  h = await createHarness("reconcile", workerSystem);
  await h.startWorker();
});
afterAll(async () => {
  await h.close();
});

async function stateOf(id: string) {
  return (await notificationReads.findById(h.db, id))?.state;
}

describe("the seed scenario", () => {
  it("sent, delivered, then opened: the state stays delivered and the open is logged", async () => {
    const n = await recordNotification(h.sql, "re_seed_1");
    await h.deliver(eventFor("email.sent", "re_seed_1", 1));
    await h.deliver(eventFor("email.delivered", "re_seed_1", 2));
    await h.deliver(eventFor("email.opened", "re_seed_1", 3));
    await h.drained();
    const row = await notificationReads.findById(h.db, n.id);
    expect(row).toMatchObject({ state: "delivered", stateEventType: "email.delivered", openCount: 1 });
    expect(await engagement.listForNotification(h.db, n.id)).toMatchObject([{ kind: "opened" }]);
  });

  it("a bounce on a second send wins over a delivered that arrives after it", async () => {
    const n = await recordNotification(h.sql, "re_seed_2", ["bob@example.com"]);
    await h.deliver(eventFor("email.sent", "re_seed_2", 1, {}, ["bob@example.com"]));
    await h.deliver(eventFor("email.bounced", "re_seed_2", 5, { bounce: { type: "Permanent" } }, ["bob@example.com"]));
    await h.drained();
    expect(await stateOf(n.id)).toBe("bounced");
    // Resend retries a delivered stamped earlier; it arrives last and must not undo the bounce.
    await h.deliver(eventFor("email.delivered", "re_seed_2", 3, {}, ["bob@example.com"]));
    await h.drained();
    expect(await notificationReads.findById(h.db, n.id)).toMatchObject({
      state: "bounced",
      stateEventType: "email.bounced",
    });
    expect(await suppressions.find(h.db, "bob@example.com")).toMatchObject({ reason: "hard_bounce" });
  });
});

describe("duplicates", () => {
  it("the same svix-id delivered three times is logged once and counted once", async () => {
    const n = await recordNotification(h.sql, "re_dup");
    const opened = eventFor("email.opened", "re_dup", 4);
    for (let i = 0; i < 3; i += 1) await h.deliver(opened, "msg_dup_open");
    await h.drained();
    // An applied open is logged in the engagement log only, once.
    expect((await engagement.listForNotification(h.db, n.id)).map((row) => row.svixId)).toEqual(["msg_dup_open"]);
    expect(await events.listForNotification(h.db, n.id)).toEqual([]);
    expect(await notificationReads.findById(h.db, n.id)).toMatchObject({ openCount: 1 });
  });

  it("a transient bounce redelivered does not count twice toward the threshold", async () => {
    await recordNotification(h.sql, "re_dup_soft", ["soft-dup@example.com"]);
    const bounce = eventFor("email.bounced", "re_dup_soft", 2, { bounce: { type: "Transient" } }, [
      "soft-dup@example.com",
    ]);
    for (let i = 0; i < 4; i += 1) await h.deliver(bounce, "msg_dup_soft");
    await h.drained();
    expect(await softBounces.find(h.db, "soft-dup@example.com")).toMatchObject({ count: 1 });
  });
});

describe("events that arrive before the send is recorded", () => {
  it("are parked as unmatched, then reach the right state within a second of recording", async () => {
    const sent = await h.deliver(eventFor("email.sent", "re_early", 1));
    const delivered = await h.deliver(eventFor("email.delivered", "re_early", 2));
    const clicked = await h.deliver(
      eventFor("email.clicked", "re_early", 3, {
        click: {
          ipAddress: "203.0.113.9",
          link: "https://acme.test/a",
          timestamp: "2026-11-22T10:00:03.000Z",
          userAgent: "UA",
        },
      }),
    );
    await h.drained();
    expect(
      (await events.listUnmatched(h.db, { emailId: "re_early", limit: 10 })).map((row) => row.svixId).sort(),
    ).toEqual([sent, delivered, clicked].sort());
    // One parked job for the email id, not one per event.
    expect(await h.queues.unmatched.getJobCounts("delayed")).toEqual({ delayed: 1 });

    const recordedAt = Date.now();
    const n = await recordNotification(h.sql, "re_early");
    // What the API does when a Resend email id is recorded.
    await h.queues.inbox.add("inbox.replay-email", { emailId: "re_early" });
    await waitUntil(
      "the parked events, replayed within 1 s of the record, to make it delivered with one click",
      async () => {
        const row = await notificationReads.findById(h.db, n.id);
        return row?.state === "delivered" && row.clickCount === 1;
      },
      1_000 - (Date.now() - recordedAt),
      { intervalMs: 10 },
    );
    expect(await engagement.listForNotification(h.db, n.id)).toMatchObject([
      { kind: "clicked", link: "https://acme.test/a" },
    ]);
    expect(await events.countByStatus(h.db, "unmatched")).toBe(0);
    // The parked retry jobs are gone: nothing stale for ops to look at.
    expect(await h.queues.unmatched.getJobCounts("delayed", "failed")).toEqual({ delayed: 0, failed: 0 });
  });
});

describe("suppressions", () => {
  it("a complaint suppresses every recipient", async () => {
    const to = ["One@Example.com ", "two@example.com"];
    const n = await recordNotification(h.sql, "re_complaint", ["one@example.com", "two@example.com"]);
    await h.deliver(eventFor("email.delivered", "re_complaint", 1, {}, to));
    await h.deliver(eventFor("email.complained", "re_complaint", 9, {}, to));
    await h.drained();
    expect(await stateOf(n.id)).toBe("complained");
    const rows = await suppressions.findMany(h.db, ["one@example.com", "two@example.com"]);
    expect(rows.map((row) => [row.email, row.reason]).sort()).toEqual([
      ["one@example.com", "complaint"],
      ["two@example.com", "complaint"],
    ]);
  });

  it("transient bounces below the threshold do not suppress; the third in a row does", async () => {
    const to = ["flaky@example.com"];
    for (const [index, emailId] of ["re_soft_1", "re_soft_2"].entries()) {
      await recordNotification(h.sql, emailId, to);
      await h.deliver(eventFor("email.bounced", emailId, index + 1, { bounce: { type: "Transient" } }, to));
    }
    await h.drained();
    expect(await softBounces.find(h.db, "flaky@example.com")).toMatchObject({ count: 2 });
    expect(await suppressions.find(h.db, "flaky@example.com")).toBeNull();

    await recordNotification(h.sql, "re_soft_3", to);
    await h.deliver(eventFor("email.bounced", "re_soft_3", 3, { bounce: { type: "Transient" } }, to));
    await h.drained();
    expect(await suppressions.find(h.db, "flaky@example.com")).toMatchObject({ reason: "soft_bounce_threshold" });
  });

  it("a delivery in between resets the run of soft bounces", async () => {
    const to = ["recovers@example.com"];
    await recordNotification(h.sql, "re_reset_1", to);
    await h.deliver(eventFor("email.bounced", "re_reset_1", 1, { bounce: { type: "Transient" } }, to));
    await h.drained();
    await recordNotification(h.sql, "re_reset_2", to);
    await h.deliver(eventFor("email.delivered", "re_reset_2", 2, {}, to));
    await h.drained();
    expect(await softBounces.find(h.db, "recovers@example.com")).toMatchObject({ count: 0 });
  });

  it("an Undetermined bounce is logged but suppresses nothing", async () => {
    const to = ["maybe@example.com"];
    const n = await recordNotification(h.sql, "re_undetermined", to);
    await h.deliver(eventFor("email.bounced", "re_undetermined", 1, { bounce: { type: "Undetermined" } }, to));
    await h.drained();
    expect(await stateOf(n.id)).toBe("bounced");
    expect(await suppressions.find(h.db, "maybe@example.com")).toBeNull();
    expect(await softBounces.find(h.db, "maybe@example.com")).toBeNull();
  });
});

describe("bad input", () => {
  it("input: an unknown event type (domain.verified_later) → logged as ignored, job completes", async () => {
    const svixId = await h.deliver({
      type: "domain.verified_later",
      created_at: "2026-11-22T10:00:00Z",
      data: { id: "d_1" },
    });
    await h.drained();
    expect(await events.findBySvixId(h.db, svixId)).toMatchObject({ status: "ignored", type: "domain.verified_later" });
    expect(await h.queues.inbox.getJobCounts("failed")).toEqual({ failed: 0 });
  });

  it("input: email.bounced whose data.to is a number → logged as invalid with its raw payload, nothing lost", async () => {
    const body = { type: "email.bounced", created_at: "2026-11-22T10:00:00Z", data: { email_id: "re_bad", to: 42 } };
    const svixId = await h.deliver(body);
    await h.drained();
    expect(await events.findBySvixId(h.db, svixId)).toMatchObject({ status: "invalid", payload: body });
  });
});

describe("text PostgreSQL cannot store", () => {
  it("input: email.bounced whose bounce message holds U+0000 (valid JSON, refused by jsonb) → logged with U+FFFD in its place and applied: bounced", async () => {
    const n = await recordNotification(h.sql, "re_nul", ["nul@example.com"]);
    const svixId = await h.deliver(
      eventFor("email.bounced", "re_nul", 1, { bounce: { type: "Permanent", message: "no such user\u0000here" } }, [
        "nul@example.com",
      ]),
    );
    await h.drained();
    const logged = await events.findBySvixId(h.db, svixId);
    expect(logged).toMatchObject({
      status: "applied",
      payload: { data: { bounce: { message: "no such user\ufffdhere" } } },
    });
    expect(await notificationReads.findById(h.db, n.id)).toMatchObject({ state: "bounced" });
    expect(await h.queues.inbox.getJobCounts("failed")).toEqual({ failed: 0 });
  });

  it("input: email.clicked whose link and user agent hold U+0000 (refused by text columns too) → applied; the engagement row keeps U+FFFD in their place", async () => {
    const n = await recordNotification(h.sql, "re_nul_click", ["nul@example.com"]);
    await h.deliver(
      eventFor("email.clicked", "re_nul_click", 2, {
        click: {
          link: "https://acme.test/\u0000a",
          timestamp: "2026-11-22T10:00:02.000Z",
          ipAddress: "203.0.113.9",
          userAgent: "Mozilla\u0000/5.0",
        },
      }),
    );
    await h.drained();
    expect(await notificationReads.findById(h.db, n.id)).toMatchObject({ clickCount: 1 });
    expect(await engagement.listForNotification(h.db, n.id)).toMatchObject([
      { kind: "clicked", link: "https://acme.test/\ufffda", userAgent: "Mozilla\ufffd/5.0" },
    ]);
    expect(await deadLetters.list(h.sql, {})).toEqual([]);
  });
});

describe("concurrency", () => {
  it("many events of one notification handled by two workers at once fold to the sorted outcome", async () => {
    const second = await createHarness("reconcile-two", workerSystem);
    try {
      await second.startWorker();
      await second.startWorker();
      const n = await recordNotification(second.sql, "re_concurrent");
      const bodies = [
        eventFor("email.sent", "re_concurrent", 1),
        eventFor("email.delivery_delayed", "re_concurrent", 2),
        eventFor("email.delivered", "re_concurrent", 3),
        ...Array.from({ length: 30 }, (_, i) => eventFor("email.opened", "re_concurrent", 4 + (i % 50))),
      ];
      await Promise.all(bodies.map((body) => second.deliver(body)));
      await second.drained();
      expect(await notificationReads.findById(second.db, n.id)).toMatchObject({ state: "delivered", openCount: 30 });
      expect(await rebuildProjections(second.db, second.sql)).toMatchObject({ differed: 0 });
    } finally {
      await second.close();
    }
  });
});

describe("rebuild", () => {
  it("reports zero drift when healthy, finds a tampered projection, and repairs it with --write", async () => {
    expect(await rebuildProjections(h.db, h.sql)).toMatchObject({ differed: 0 });
    const n = await recordNotification(h.sql, "re_tamper");
    await h.deliver(eventFor("email.delivered", "re_tamper", 1));
    await h.drained();
    await h.db.notification.update({ where: { id: n.id }, data: { state: "sent" } });
    expect(await rebuildProjections(h.db, h.sql)).toMatchObject({ differed: 1, examples: [n.id] });
    await rebuildProjections(h.db, h.sql, { write: true });
    expect(await stateOf(n.id)).toBe("delivered");
    expect(await rebuildProjections(h.db, h.sql)).toMatchObject({ differed: 0 });
  });
});
