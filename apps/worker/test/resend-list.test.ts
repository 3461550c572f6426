// Inbound suppression sync in the worker, from webhooks alone (no RESEND_API_KEY): Resend's own list
// lands on the list every tenant obeys, whatever SUPPRESSION_SCOPE; with the sync off, nothing does.
import { notificationRecords, suppressions } from "@mailstate/db";
import { createHarness, eventFor } from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type WorkerHarness, workerSystem } from "./testing.ts";

let inbound: WorkerHarness;
let off: WorkerHarness;
beforeAll(async () => {
  inbound = await createHarness("resend_list_inbound", workerSystem, {
    env: { SUPPRESSION_SCOPE: "tenant", RESEND_SUPPRESSION_SYNC: "inbound" },
  });
  await inbound.startWorker();
  // No RESEND_API_KEY and no RESEND_SUPPRESSION_SYNC: off.
  off = await createHarness("resend_list_off", workerSystem);
  await off.startWorker();
});
afterAll(async () => {
  await inbound?.close();
  await off?.close();
});

const suppressionEvent = (type: "suppression.added" | "suppression.removed", email: string, origin = "complaint") => ({
  type,
  created_at: new Date().toISOString(),
  data: { id: `sup_${email}`, email, origin, source_id: null, created_at: new Date().toISOString() },
});

const everyList = { scope: "tenant" as const, tenant: "acme" };

describe("RESEND_SUPPRESSION_SYNC=inbound without an API key, SUPPRESSION_SCOPE=tenant", () => {
  it("suppression.added (origin complaint) → on the null list, reason complaint, source resend; suppression.removed → off it", async () => {
    const email = "Complains@Resend-List.test";
    await inbound.deliver(suppressionEvent("suppression.added", email));
    await inbound.drained();
    expect(await suppressions.find(inbound.db, "complains@resend-list.test", everyList)).toMatchObject({
      tenant: null,
      reason: "complaint",
      source: "resend",
    });
    await inbound.deliver(suppressionEvent("suppression.removed", email));
    await inbound.drained();
    expect(await suppressions.find(inbound.db, "complains@resend-list.test", everyList)).toBeNull();
  });

  it("email.suppressed about acme's send → the null list (Resend's list is account-wide), source resend", async () => {
    const to = "held@resend-list.test";
    await notificationRecords.record(inbound.sql, {
      resendEmailId: "re_list_1",
      recipients: [to],
      from: "hello@acme.test",
      subject: "Hi",
      tenant: "acme",
    });
    await inbound.deliver(
      eventFor("email.suppressed", "re_list_1", 1, { suppressed: { type: "OnAccountSuppressionList", message: "x" } }, [
        to,
      ]),
    );
    await inbound.drained();
    expect(await suppressions.find(inbound.db, to, { scope: "tenant", tenant: "globex" })).toMatchObject({
      tenant: null,
      source: "resend",
    });
  });
});

describe("RESEND_SUPPRESSION_SYNC off (no key, no variable)", () => {
  it("suppression.added → logged and acknowledged, nothing suppressed", async () => {
    await off.deliver(suppressionEvent("suppression.added", "ignored@resend-list.test"));
    await off.drained();
    expect(await suppressions.find(off.db, "ignored@resend-list.test")).toBeNull();
    const logged = await off.sql.query("SELECT status FROM delivery_events WHERE type = 'suppression.added'");
    expect(logged.rows).toEqual([{ status: "ignored" }]);
  });
});
