// The reputation rollups under the worker's reconcile, called directly on a database of its own:
// the facts of a notification are those of the set of its events (any order, any duplicates), and
// concurrent batches that change the same rollup rows in opposite orders all commit, exactly.
import { randomUUID } from "node:crypto";
import { notificationRecords, reputation } from "@mailstate/db";
import { parseResendEvent } from "@mailstate/resend-events";
import { createHarness, eventFor } from "@mailstate/test-support";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ParsedEventCache } from "../src/reconcile/event-cache.ts";
import { rebuildRollups } from "../src/reconcile/rebuild.ts";
import { reconcileEvents } from "../src/reconcile/reconcile-events.ts";
import { rollupFactsOf } from "../src/reconcile/rollup.ts";
import { type WorkerHarness, workerSystem } from "./testing.ts";

let h: WorkerHarness;
beforeAll(async () => {
  h = await createHarness("reputation_rollups", workerSystem);
});
afterAll(async () => {
  await h?.close();
});

const policy = { softBounceThreshold: 3, scope: "global" as const };
const incoming = (body: object) => ({
  svixId: `msg_${randomUUID()}`,
  receivedAt: new Date(),
  raw: body as Record<string, unknown>,
});
const bounce = (type: string) => ({ bounce: { type, subType: "General", message: "x" } });

describe("rollupFactsOf", () => {
  const events = [
    eventFor("email.sent", "re_f", 1),
    eventFor("email.delivered", "re_f", 2),
    eventFor("email.bounced", "re_f", 3, bounce("Transient")),
    eventFor("email.bounced", "re_f", 4, bounce("Permanent")),
    eventFor("email.complained", "re_f", 5),
    eventFor("email.opened", "re_f", 6),
  ].map((event) => parseResendEvent(event));

  it("any permutation of any multiset of a notification's events gives the facts of its set (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: events.length - 1 }), { maxLength: 12 }), (picks) => {
        const chosen = picks.map((index) => events[index] as (typeof events)[number]);
        const distinct = [...new Set(picks)].sort().map((index) => events[index] as (typeof events)[number]);
        expect(rollupFactsOf(chosen.reverse())).toEqual(rollupFactsOf(distinct));
      }),
    );
  });

  it("a soft bounce alone is soft; with a Permanent one it is hard only; an open alone is not a send", () => {
    expect(rollupFactsOf([events[2] as (typeof events)[number]])).toMatchObject({
      sent: 1,
      softBounced: 1,
      hardBounced: 0,
    });
    expect(rollupFactsOf([events[2], events[3]] as typeof events)).toMatchObject({ softBounced: 0, hardBounced: 1 });
    expect(rollupFactsOf([events[5] as (typeof events)[number]])).toEqual({
      sent: 0,
      delivered: 0,
      hardBounced: 0,
      softBounced: 0,
      complained: 0,
    });
  });
});

describe("concurrent batches over two rollup rows", () => {
  it("input: 15 rounds of [acme's delivery, globex's bounce] against [globex's delivery, acme's bounce] at once → every batch commits, and the rows equal their recomputation", async () => {
    for (let round = 0; round < 15; round += 1) {
      const ids = { acme: [`re_ra_${round}_1`, `re_ra_${round}_2`], globex: [`re_rg_${round}_1`, `re_rg_${round}_2`] };
      for (const [tenant, emailIds] of Object.entries(ids)) {
        for (const resendEmailId of emailIds) {
          await notificationRecords.record(h.sql, {
            resendEmailId,
            recipients: [`${resendEmailId}@example.com`],
            from: `News <news@${tenant}.test>`,
            subject: "Hi",
            tenant,
            category: "news",
          });
        }
      }
      const one = [
        incoming(eventFor("email.delivered", ids.acme[0] as string, 2)),
        incoming(eventFor("email.bounced", ids.globex[0] as string, 2, bounce("Permanent"))),
      ];
      const two = [
        incoming(eventFor("email.delivered", ids.globex[1] as string, 2)),
        incoming(eventFor("email.bounced", ids.acme[1] as string, 2, bounce("Permanent"))),
      ];
      const outcomes = await Promise.allSettled([
        reconcileEvents(h.sql, one, policy, new ParsedEventCache()),
        reconcileEvents(h.sql, two, policy, new ParsedEventCache()),
      ]);
      const failures = outcomes.flatMap((outcome) => (outcome.status === "rejected" ? [String(outcome.reason)] : []));
      expect(failures, `round ${round}`).toEqual([]);
    }
    // Summed per tenant: a run that crosses an hour has two rows per tenant.
    const byTenant = new Map<string, { sent: number; delivered: number; hardBounced: number }>();
    for (const row of await reputation.stored(h.sql)) {
      const sum = byTenant.get(row.tenant) ?? { sent: 0, delivered: 0, hardBounced: 0 };
      byTenant.set(row.tenant, {
        sent: sum.sent + row.sent,
        delivered: sum.delivered + row.delivered,
        hardBounced: sum.hardBounced + row.hardBounced,
      });
    }
    expect(Object.fromEntries(byTenant)).toEqual({
      acme: { sent: 30, delivered: 15, hardBounced: 15 },
      globex: { sent: 30, delivered: 15, hardBounced: 15 },
    });
    expect(await rebuildRollups(h.sql)).toMatchObject({ differed: 0, examples: [] });
  });
});
