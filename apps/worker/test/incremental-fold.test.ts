// The worker folds only delivery events and adds opens and clicks to the stored counters; the
// rebuild folds the whole log. Here both meet on a shuffled, duplicated, redelivered workload.
import { notificationReads } from "@mailstate/db";
import { addJob, jobIdFor } from "@mailstate/queue";
import { makeEvent, type ResendEvent } from "@mailstate/resend-events";
import { createHarness, createRandom, type Random } from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectionOf } from "../src/reconcile/project.ts";
import { rebuildProjections } from "../src/reconcile/rebuild.ts";
import { recordNotification, type WorkerHarness, workerSystem } from "./testing.ts";

let h: WorkerHarness;
beforeAll(async () => {
  h = await createHarness("incremental", workerSystem);
  // Two workers: batches of one notification race for its row lock.
  await h.startWorker();
  await h.startWorker();
});
afterAll(async () => {
  await h.close();
});

interface Sent {
  svixId: string;
  body: ResendEvent;
}

const BASE = Date.parse("2026-11-22T10:00:00.000Z");

/** Resend's second form of time: microseconds and an offset, so the fold orders below the millisecond. */
function at(random: Random, fromMs: number, toMs: number): string {
  const ms = Math.floor(random.between(BASE + fromMs, BASE + toMs));
  const micros = String(random.int(0, 999)).padStart(3, "0");
  return new Date(ms).toISOString().replace("Z", `${micros}+00:00`);
}

/** One email's events: a delivery path (ending differently per email), then many opens and clicks. */
function eventsOf(emailId: string, index: number, random: Random, opens: number, clicks: number): Sent[] {
  const data = { email_id: emailId, to: [`heavy${index}@example.com`] };
  const out: Sent[] = [];
  const push = (kind: string, body: ResendEvent) => out.push({ svixId: `msg_${emailId}_${kind}`, body });
  push("sent", makeEvent("email.sent", { created_at: at(random, 1_000, 1_500), data }));
  push("delayed", makeEvent("email.delivery_delayed", { created_at: at(random, 1_500, 3_000), data }));
  push("delivered", makeEvent("email.delivered", { created_at: at(random, 2_000, 4_000), data }));
  if (index % 3 === 1) {
    push(
      "bounced",
      makeEvent("email.bounced", {
        created_at: at(random, 3_000, 5_000),
        data: { ...data, bounce: { type: "Permanent", subType: "General", message: "no such user" } },
      }),
    );
  }
  if (index % 3 === 2)
    push("complained", makeEvent("email.complained", { created_at: at(random, 5_000, 9_000), data }));
  // Opens and clicks spread before and after the delivery events: engagement never moves state.
  for (let i = 0; i < opens; i += 1)
    push(`open${i}`, makeEvent("email.opened", { created_at: at(random, 0, 600_000), data }));
  for (let i = 0; i < clicks; i += 1) {
    const created = at(random, 0, 600_000);
    push(
      `click${i}`,
      makeEvent("email.clicked", {
        created_at: created,
        data: { ...data, click: { link: `https://acme.test/${i}`, timestamp: created, ipAddress: "203.0.113.7" } },
      }),
    );
  }
  return out;
}

function shuffled<T>(items: T[], random: Random): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i -= 1) {
    const j = random.int(0, i);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

async function storedProjection(id: string) {
  const row = await notificationReads.findById(h.db, id);
  if (!row) throw new Error(`notification ${id} is gone`);
  const { state, stateChangedAt, stateEventType, stateEventId, openCount, clickCount, firstOpenedAt, firstClickedAt } =
    row;
  return { state, stateChangedAt, stateEventType, stateEventId, openCount, clickCount, firstOpenedAt, firstClickedAt };
}

describe("incremental engagement counters", () => {
  it("6 emails × (delivery events + 150 opens + 50 clicks), shuffled, 25% sent twice, 2 emails recorded half-way (parked, then replayed), 60 redelivered at the end → every stored projection equals the full fold, and rebuild reports 0 drift", async () => {
    const random = createRandom(12);
    const emails = Array.from({ length: 6 }, (_, i) => `re_heavy_${i}`);
    const byEmail = new Map(emails.map((emailId, i) => [emailId, eventsOf(emailId, i, random, 150, 50)]));
    const all = [...byEmail.values()].flat();
    const late = new Set(emails.slice(4));
    const ids = new Map<string, string>();
    for (const emailId of emails.filter((emailId) => !late.has(emailId))) {
      ids.set(emailId, (await recordNotification(h.sql, emailId)).id);
    }

    const deliveries = shuffled([...all, ...all.filter(() => random.next() < 0.25)], random);
    const chunks = 8;
    const size = Math.ceil(deliveries.length / chunks);
    for (let chunk = 0; chunk < chunks; chunk += 1) {
      await Promise.all(deliveries.slice(chunk * size, (chunk + 1) * size).map((e) => h.deliver(e.body, e.svixId)));
      // Some chunks wait for the worker, others overlap the next one.
      if (chunk % 2 === 1) await h.drained();
      if (chunk === 3) {
        for (const emailId of late) {
          ids.set(emailId, (await recordNotification(h.sql, emailId)).id);
          // What the API does once a send is recorded: apply the events parked for it.
          await addJob(h.queues, "inbox.replay-email", { emailId }, jobIdFor("replay", `${emailId}-now`));
        }
      }
    }
    await h.drained();
    for (const event of shuffled(all, random).slice(0, 60)) await h.deliver(event.body, event.svixId);
    await h.drained();

    for (const [emailId, sent] of byEmail) {
      const id = ids.get(emailId) ?? "";
      const fold = projectionOf(sent.map(({ svixId, body }) => ({ svixId, event: body })));
      expect(fold.openCount).toBe(150);
      expect(fold.clickCount).toBe(50);
      expect(await storedProjection(id)).toEqual(fold);
    }
    expect(await rebuildProjections(h.db, h.sql)).toMatchObject({ checked: 6, differed: 0 });
  });

  it("a stored open count tampered by +1000, then one more open → 1,021 for 21 logged opens (the worker adds to what is stored, it does not re-read the opens); rebuild finds it and --write repairs it", async () => {
    const random = createRandom(7);
    const sent = eventsOf("re_tally", 0, random, 20, 5);
    const n = await recordNotification(h.sql, "re_tally");
    await Promise.all(sent.map((e) => h.deliver(e.body, e.svixId)));
    await h.drained();
    await h.db.notification.update({ where: { id: n.id }, data: { openCount: { increment: 1_000 } } });
    const more = eventsOf("re_tally", 0, random, 21, 0).at(-1);
    if (!more) throw new Error("no event");
    await h.deliver(more.body, "msg_re_tally_one_more");
    await h.drained();
    expect(await storedProjection(n.id)).toMatchObject({ openCount: 1_021, clickCount: 5 });

    expect(await rebuildProjections(h.db, h.sql)).toMatchObject({ differed: 1, examples: [n.id] });
    await rebuildProjections(h.db, h.sql, { write: true });
    expect(await storedProjection(n.id)).toMatchObject({ openCount: 21, clickCount: 5, state: "delivered" });
    expect(await rebuildProjections(h.db, h.sql)).toMatchObject({ differed: 0 });
  });
});
