// The suppression lists and the soft-bounce counters, through the functions production calls: one
// row per address and list, first reason wins, runs counted and ended by the delivery's rule.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Db, GLOBAL_VIEW, softBounces, suppressions } from "./index.ts";
import { at, openTestClients, type TestClients } from "./test-clients.ts";

let db: Db;
let inTransaction: TestClients["inTransaction"];
let close: () => Promise<void>;

beforeAll(async () => {
  ({ db, inTransaction, close } = await openTestClients("db_suppressions"));
});
afterAll(() => close?.());

describe("the tables, through the functions production calls", () => {
  it("suppressions: one row per address whoever adds it (worker or API), first reason wins, expiry honoured, removable", async () => {
    const fromEvent = {
      email: "f@example.com",
      reason: "hard_bounce" as const,
      sourceEventId: "msg_b",
      metadata: { eventType: "email.bounced" },
    };
    expect(await inTransaction((client) => suppressions.add(client, fromEvent))).toBe(true);
    expect(await suppressions.add(db, { email: "f@example.com", reason: "manual", metadata: null })).toBe(false);
    expect(await suppressions.find(db, "f@example.com")).toMatchObject({
      reason: "hard_bounce",
      sourceEventId: "msg_b",
      metadata: { eventType: "email.bounced" },
    });

    expect(
      await suppressions.add(db, { email: "g@example.com", reason: "manual", expiresAt: new Date(Date.now() - 1_000) }),
    ).toBe(true);
    expect(await suppressions.find(db, "g@example.com")).toBeNull();
    expect((await suppressions.findMany(db, ["f@example.com", "g@example.com"])).map((row) => row.email)).toEqual([
      "f@example.com",
    ]);
    expect(await suppressions.add(db, { email: "m@example.com", reason: "manual", metadata: { note: "asked" } })).toBe(
      true,
    );
    expect(await suppressions.find(db, "m@example.com")).toMatchObject({
      reason: "manual",
      sourceEventId: null,
      metadata: { note: "asked" },
    });

    expect(await suppressions.remove(db, "f@example.com")).toBe(true);
    expect(await suppressions.find(db, "f@example.com")).toBeNull();
    expect(await suppressions.remove(db, "f@example.com")).toBe(false);
  });

  it("soft-bounce counters: counted in a row; a delivery ends the run and keeps its time, so a later webhook of an older bounce is not counted", async () => {
    const email = "h@example.com";
    const count = (svixId: string, second: number) =>
      inTransaction((client) => softBounces.count(client, { email, tenant: null }, svixId, at(second)));
    const reset = (second: number) =>
      inTransaction((client) => softBounces.reset(client, [{ email, tenant: null, at: at(second) }]));
    expect(await count("msg_s1", 1)).toBe(1);
    expect(await count("msg_s2", 2)).toBe(2);
    expect(await softBounces.find(db, email)).toMatchObject({ count: 2, lastEventId: "msg_s2", lastBounceAt: at(2) });

    await reset(10);
    expect(await softBounces.find(db, email)).toMatchObject({ count: 0, lastDeliveredAt: at(10) });
    expect(await count("msg_s_old", 5)).toBe(0); // older than the delivery: not in the run
    expect(await softBounces.find(db, email)).toMatchObject({
      count: 0,
      lastEventId: "msg_s2",
      lastDeliveredAt: at(10),
    });

    expect(await count("msg_s3", 20)).toBe(1);
    await reset(15); // a late webhook of an earlier delivery leaves the newer run alone
    expect(await softBounces.find(db, email)).toMatchObject({ count: 1, lastDeliveredAt: at(15) });
    expect((await softBounces.countsOf(db, [email, "nobody@example.com"])).map((row) => row.email)).toEqual([email]);
  });

  it("soft-bounce counters: taking an address off the list ends its run by the delivery's rule, so a bounce from before the removal is not counted", async () => {
    const email = "i@example.com";
    const count = (svixId: string, second: number) =>
      inTransaction((client) => softBounces.count(client, { email, tenant: null }, svixId, at(second)));
    expect([await count("msg_i1", 40), await count("msg_i2", 41), await count("msg_i3", 42)]).toEqual([1, 2, 3]);
    await inTransaction((client) =>
      suppressions.add(client, { email, reason: "soft_bounce_threshold", sourceEventId: "msg_i3", metadata: {} }),
    );
    expect(await suppressions.remove(db, email, GLOBAL_VIEW, at(50))).toBe(true);
    expect(await softBounces.find(db, email)).toMatchObject({
      count: 0,
      lastEventId: "msg_i3",
      lastDeliveredAt: at(50),
    });
    expect(await count("msg_i_late", 45)).toBe(0);
    expect(await count("msg_i4", 58)).toBe(1);
  });

  it("suppression lists: in tenant scope a tenant's row counts for that tenant only, the null list for everyone; in global scope every row counts", async () => {
    const email = "lists@example.com";
    const view = (tenant: string | null) => ({ scope: "tenant" as const, tenant });
    expect(await suppressions.add(db, { email, tenant: "acme", reason: "hard_bounce" })).toBe(true);
    // The same list again is a no-op; another list is another row.
    expect(await suppressions.add(db, { email, tenant: "acme", reason: "manual" })).toBe(false);
    expect(await suppressions.find(db, email, view("acme"))).toMatchObject({ tenant: "acme", reason: "hard_bounce" });
    expect(await suppressions.find(db, email, view("globex"))).toBeNull();
    expect(await suppressions.find(db, email, view(null))).toBeNull();
    expect(await suppressions.find(db, email, GLOBAL_VIEW)).toMatchObject({ tenant: "acme" });

    expect(await suppressions.add(db, { email, tenant: null, reason: "complaint" })).toBe(true);
    expect(await suppressions.add(db, { email, tenant: null, reason: "manual" })).toBe(false);
    expect(await suppressions.find(db, email, view("globex"))).toMatchObject({ tenant: null, reason: "complaint" });
    // A tenant's own row is answered before the null list's.
    expect(await suppressions.find(db, email, view("acme"))).toMatchObject({ tenant: "acme" });
    expect((await suppressions.findMany(db, [email], view("acme"))).map((row) => row.tenant)).toEqual(["acme"]);

    // Removal in tenant scope takes the address off the view's own list only.
    expect(await suppressions.remove(db, email, view("globex"))).toBe(false);
    expect(await suppressions.remove(db, email, view("acme"))).toBe(true);
    expect(await suppressions.find(db, email, view("acme"))).toMatchObject({ tenant: null });
    // In global scope it comes off every list, since every list counts there.
    await suppressions.add(db, { email, tenant: "acme", reason: "hard_bounce" });
    expect(await suppressions.remove(db, email, GLOBAL_VIEW)).toBe(true);
    expect(await suppressions.find(db, email, GLOBAL_VIEW)).toBeNull();
  });

  it("soft-bounce runs are per list: acme's bounces do not count toward globex's run", async () => {
    const email = "runs@example.com";
    const count = (tenant: string | null, svixId: string, second: number) =>
      inTransaction((client) => softBounces.count(client, { email, tenant }, svixId, at(second)));
    expect([
      await count("acme", "msg_r1", 1),
      await count("acme", "msg_r2", 2),
      await count("globex", "msg_r3", 3),
    ]).toEqual([1, 2, 1]);
    await inTransaction((client) => softBounces.reset(client, [{ email, tenant: "acme", at: at(4) }]));
    expect(await softBounces.find(db, email, "acme")).toMatchObject({ count: 0 });
    expect(await softBounces.find(db, email, "globex")).toMatchObject({ count: 1 });
    expect(await softBounces.find(db, email)).toBeNull();
  });
});
