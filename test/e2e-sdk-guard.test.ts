// The SDK's reputation guard against the real API (PostgreSQL, Redis) and the Resend stand-in. The
// rollups are seeded with hours relative to now; "the window moves" is played by moving the rows two
// hours back (what two hours passing do to them), and the guard's minute of cache by its clock.
import { randomUUID } from "node:crypto";
import { type MailstateStack, mailstateSystem } from "@mailstate/api/testing";
import { createResendStandin, type ResendStandin } from "@mailstate/resend-standin";
import { createMailstate, type GuardOptions, type SendResult } from "@mailstate/sdk";
import { freePort, startStack } from "@mailstate/test-support";
import { Resend } from "resend";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

let stack: MailstateStack;
let standin: ResendStandin;
let resend: Resend;

beforeAll(async () => {
  stack = await startStack("sdk_guard", mailstateSystem);
  standin = await createResendStandin();
  resend = new Resend("re_test_key", { baseUrl: standin.url });
}, 60_000);
afterAll(async () => {
  await stack?.close();
  await standin?.close();
});
beforeEach(() => standin.reset());

/** Counts of one tenant and category, `hoursAgo` hours before the current one. */
async function seed(
  tenant: string,
  category: string,
  hoursAgo: number,
  counts: { sent: number; delivered: number; hard: number; complained: number },
) {
  await stack.sql.query(
    `INSERT INTO reputation_hourly (hour, tenant, category, from_domain, sent, delivered, hard_bounced, complained)
     VALUES (date_trunc('hour', now()) - make_interval(hours => $3), $1, $2, 'acme.test', $4, $5, $6, $7)`,
    [tenant, category, hoursAgo, counts.sent, counts.delivered, counts.hard, counts.complained],
  );
}

/** Two hours pass: every row of the tenant is two hours older (22 hours ago is then out of a 24h window). */
const twoHoursPass = (tenant: string) =>
  stack.sql.query("UPDATE reputation_hourly SET hour = hour - interval '2 hours' WHERE tenant = $1", [tenant]);

const email = () => ({
  from: "Acme <news@acme.test>",
  to: `${randomUUID()}@guard.test`,
  subject: "Deals",
  html: "<p>Deals</p>",
});

/** A client with a guard, its clock, and a count of its requests to /v1/reputation. */
function guarded(guard: Omit<GuardOptions, "now">, baseUrl = stack.baseUrl) {
  const clock = { ms: 1_000_000 };
  const asked: string[] = [];
  const mailstate = createMailstate({
    baseUrl,
    apiKey: stack.apiKey,
    timeoutMs: 1_000,
    fetch: (input, init) => {
      const url = String(input);
      if (url.includes("/v1/reputation")) asked.push(url.slice(url.indexOf("/v1/")));
      return fetch(input, init);
    },
    guard: { ...guard, now: () => clock.ms },
  });
  return { mailstate, clock, asked };
}

const status = (result: SendResult) => result.status;

describe("createMailstate({ guard })", () => {
  it("complaint rate 1% over a 0.3% limit → refused naming the rate; nothing recorded, nothing sent; another category of the tenant still sends", async () => {
    await seed("spammy", "promo", 12, { sent: 1_000, delivered: 1_000, hard: 0, complained: 10 });
    const { mailstate } = guarded({ maxComplaintRate: 0.003, maxBounceRate: 0.04 });
    const result = await mailstate.send(resend, email(), { tenant: "spammy", category: "promo" });
    expect(result).toEqual({
      status: "refused",
      notificationId: null,
      reason: "complaint_rate",
      rate: 0.01,
      limit: 0.003,
      tenant: "spammy",
      category: "promo",
      window: "24h",
    });
    expect(standin.sent).toHaveLength(0);
    expect((await mailstate.list({ tenant: "spammy" })).data).toEqual([]);
    const other = await mailstate.send(resend, email(), { tenant: "spammy", category: "receipts" });
    expect(other.status).toBe("sent");
  });

  it("bypassSuppression (a password reset) passes the guard: sent", async () => {
    const { mailstate } = guarded({ maxComplaintRate: 0.003 });
    const result = await mailstate.send(resend, email(), {
      tenant: "spammy",
      category: "promo",
      bypassSuppression: true,
    });
    expect(result.status).toBe("sent");
  });

  it("sendBatch: every email of a refused tenant and category → refused; none sent", async () => {
    const { mailstate } = guarded({ maxComplaintRate: 0.003 });
    const results = await mailstate.sendBatch(resend, [email(), email(), email()], {
      tenant: "spammy",
      category: "promo",
    });
    expect(results.map(status)).toEqual(["refused", "refused", "refused"]);
    expect(standin.sent).toHaveLength(0);
  });

  it("bounce rate 6% over a 4% limit → refused with reason bounce_rate", async () => {
    await seed("bouncy", "import", 2, { sent: 500, delivered: 470, hard: 30, complained: 0 });
    const { mailstate } = guarded({ maxComplaintRate: 0.003, maxBounceRate: 0.04 });
    expect(await mailstate.send(resend, email(), { tenant: "bouncy", category: "import" })).toMatchObject({
      status: "refused",
      reason: "bounce_rate",
      rate: 0.06,
      limit: 0.04,
    });
  });

  it("refuses, then recovers as the window moves past the complaints: the cached answer holds for 60 s of the guard's clock, then it asks again and sends", async () => {
    await seed("moving", "promo", 22, { sent: 200, delivered: 200, hard: 0, complained: 4 });
    const { mailstate, clock, asked } = guarded({ maxComplaintRate: 0.003 });
    const send = () => mailstate.send(resend, email(), { tenant: "moving", category: "promo" });
    expect((await send()).status).toBe("refused");
    await twoHoursPass("moving");
    clock.ms += 59_000;
    expect((await send()).status).toBe("refused");
    expect(asked).toEqual(["/v1/reputation?tenant=moving&category=promo&window=24h"]);
    clock.ms += 1_000;
    expect((await send()).status).toBe("sent");
    expect(asked).toHaveLength(2);
  });

  it("minSent: under that many sends in the window nothing is judged (1,000 sent, minSent 2,000 → sent); window: complaints 3 days old refuse over 7d, not over 24h", async () => {
    const lenient = guarded({ maxComplaintRate: 0.003, minSent: 2_000 });
    expect((await lenient.mailstate.send(resend, email(), { tenant: "spammy", category: "promo" })).status).toBe(
      "sent",
    );
    await seed("lastweek", "promo", 72, { sent: 300, delivered: 300, hard: 0, complained: 3 });
    const day = guarded({ maxComplaintRate: 0.003 });
    expect((await day.mailstate.send(resend, email(), { tenant: "lastweek", category: "promo" })).status).toBe("sent");
    const week = guarded({ maxComplaintRate: 0.003, window: "7d" });
    expect(await week.mailstate.send(resend, email(), { tenant: "lastweek", category: "promo" })).toMatchObject({
      status: "refused",
      reason: "complaint_rate",
      rate: 0.01,
      window: "7d",
    });
    expect(week.asked).toEqual(["/v1/reputation?tenant=lastweek&category=promo&window=7d"]);
  });

  it("mailstate unreachable: the guard fails open (the send goes to Resend with warnings) unless strict, which refuses with reputation_unavailable; neither throws", async () => {
    const down = `http://127.0.0.1:${await freePort()}`;
    const open = guarded({ maxComplaintRate: 0.003 }, down);
    const sent = await open.mailstate.send(resend, email(), { tenant: "spammy", category: "promo" });
    expect(sent.status).toBe("sent");
    if (sent.status !== "sent") throw new Error("not sent");
    expect(sent.warnings.map((warning) => warning.code)).toContain("network_error");

    const strict = guarded({ maxComplaintRate: 0.003, strict: true }, down);
    const refused = await strict.mailstate.send(resend, email(), { tenant: "spammy", category: "promo" });
    expect(refused).toMatchObject({ status: "refused", reason: "reputation_unavailable", rate: null, limit: null });
    if (refused.status !== "refused") throw new Error("not refused");
    expect(refused.error?.code).toBe("network_error");
    expect(standin.sent).toHaveLength(1);
  });
});
