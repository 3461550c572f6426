// SUPPRESSION_SCOPE=tenant in the worker, through the real queue on real PostgreSQL and Redis: a
// bounce suppresses on its notification's tenant's list, when the event is applied to it.
import { notificationRecords, softBounces, suppressions } from "@mailstate/db";
import { createHarness, eventFor, waitUntil } from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type WorkerHarness, workerSystem } from "./testing.ts";

let h: WorkerHarness;
beforeAll(async () => {
  h = await createHarness("tenant_scope", workerSystem, { env: { SUPPRESSION_SCOPE: "tenant" } });
  await h.startWorker();
});
afterAll(async () => {
  await h.close();
});

const view = (tenant: string | null) => ({ scope: "tenant" as const, tenant });

async function record(resendEmailId: string, to: string, tenant: string | null) {
  const { notification } = await notificationRecords.record(h.sql, {
    resendEmailId,
    recipients: [to],
    from: "hello@acme.test",
    subject: "Hi",
    tenant,
  });
  return notification;
}

const transient = { bounce: { type: "Transient" } };

describe("SUPPRESSION_SCOPE=tenant", () => {
  it("a hard bounce of acme's send → on acme's list only; globex's sends and sends without a tenant are not suppressed", async () => {
    const to = "hard@tenant.test";
    await record("re_t_hard", to, "acme");
    await h.deliver(eventFor("email.bounced", "re_t_hard", 1, { bounce: { type: "Permanent" } }, [to]));
    await h.drained();
    expect(await suppressions.find(h.db, to, view("acme"))).toMatchObject({ tenant: "acme", reason: "hard_bounce" });
    expect(await suppressions.find(h.db, to, view("globex"))).toBeNull();
    expect(await suppressions.find(h.db, to, view(null))).toBeNull();
  });

  it("a complaint about a send recorded without a tenant → on the null list, which every tenant's sends obey", async () => {
    const to = "complains@tenant.test";
    await record("re_t_null", to, null);
    await h.deliver(eventFor("email.complained", "re_t_null", 1, {}, [to]));
    await h.drained();
    for (const tenant of ["acme", "globex", null]) {
      expect(await suppressions.find(h.db, to, view(tenant))).toMatchObject({ tenant: null, reason: "complaint" });
    }
  });

  it("transient bounces count per tenant: 2 of acme's and 1 of globex's to one address suppress nobody; acme's third suppresses for acme", async () => {
    const to = "flaky@tenant.test";
    for (const [index, [emailId, tenant]] of [
      ["re_t_s1", "acme"],
      ["re_t_s2", "globex"],
      ["re_t_s3", "acme"],
    ].entries()) {
      await record(emailId as string, to, tenant as string);
      await h.deliver(eventFor("email.bounced", emailId as string, index + 1, transient, [to]));
    }
    await h.drained();
    expect(await softBounces.find(h.db, to, "acme")).toMatchObject({ count: 2 });
    expect(await softBounces.find(h.db, to, "globex")).toMatchObject({ count: 1 });
    expect(await suppressions.find(h.db, to, view("acme"))).toBeNull();

    await record("re_t_s4", to, "acme");
    await h.deliver(eventFor("email.bounced", "re_t_s4", 4, transient, [to]));
    await h.drained();
    expect(await suppressions.find(h.db, to, view("acme"))).toMatchObject({ reason: "soft_bounce_threshold" });
    expect(await suppressions.find(h.db, to, view("globex"))).toBeNull();
    // A delivery of globex's ends globex's run, not acme's.
    await record("re_t_s5", to, "globex");
    await h.deliver(eventFor("email.delivered", "re_t_s5", 5, {}, [to]));
    await h.drained();
    expect(await softBounces.find(h.db, to, "globex")).toMatchObject({ count: 0 });
    expect(await softBounces.find(h.db, to, "acme")).toMatchObject({ count: 3 });
  });

  it("a bounce that arrives before its send is recorded suppresses nothing while no tenant is known; once recorded for acme and replayed → on acme's list", async () => {
    const to = "early@tenant.test";
    await h.deliver(eventFor("email.bounced", "re_t_early", 1, { bounce: { type: "Permanent" } }, [to]));
    await h.drained();
    expect(await suppressions.find(h.db, to)).toBeNull();

    await record("re_t_early", to, "acme");
    // What the API does when a Resend email id is recorded.
    await h.queues.inbox.add("inbox.replay-email", { emailId: "re_t_early" });
    await waitUntil(
      "the parked bounce applied, on acme's list",
      async () => (await suppressions.find(h.db, to, view("acme"))) ?? undefined,
      10_000,
    );
    expect(await suppressions.find(h.db, to, view("acme"))).toMatchObject({ tenant: "acme", reason: "hard_bounce" });
    expect(await suppressions.find(h.db, to, view("globex"))).toBeNull();
    // Replaying again applies nothing twice.
    await h.queues.inbox.add("inbox.replay-email", { emailId: "re_t_early" });
    await h.drained();
    const rows = await h.sql.query("SELECT tenant FROM suppressions WHERE email = $1", [to]);
    expect(rows.rows).toEqual([{ tenant: "acme" }]);
  });
});
