// The Resend stand-in's webhooks against the real API and worker: emails sent through the SDK, their
// events posted late, out of order and twice, end in the states their planned lifecycles say.
import { randomUUID } from "node:crypto";
import { type MailstateStack, mailstateSystem } from "@mailstate/api/testing";
import { ops } from "@mailstate/db";
import { createResendStandin, type ResendStandin } from "@mailstate/resend-standin";
import { createMailstate, type Mailstate } from "@mailstate/sdk";
import { startStack, TEST_WEBHOOK_SECRET, waitUntil } from "@mailstate/test-support";
import { Resend } from "resend";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let stack: MailstateStack;
let standin: ResendStandin;
let resend: Resend;
let mailstate: Mailstate;

beforeAll(async () => {
  stack = await startStack("e2e_standin", mailstateSystem);
  await stack.startWorker();
  standin = await createResendStandin({
    webhook: {
      url: `${stack.baseUrl}/webhooks/resend`,
      secret: TEST_WEBHOOK_SECRET,
      rates: { bounce: 0.12, softBounce: 0.06, complaint: 0.08, pending: 0.12, delay: 0.25, open: 0.5, click: 0.3 },
      duplicateRate: 0.25,
      // Wider than one lifecycle: an email's events arrive shuffled, often before the SDK attached its id.
      maxDelayMs: 300,
      lifecycleMs: 100,
      seed: 20261122,
    },
  });
  resend = new Resend("re_test_key", { baseUrl: standin.url });
  mailstate = createMailstate({ baseUrl: stack.baseUrl, apiKey: stack.apiKey });
});
afterAll(async () => {
  await standin?.close();
  await stack?.close();
});

const email = (to: string) => ({
  from: "Acme <hello@acme.test>",
  to,
  subject: "Your receipt",
  html: `<p>Thanks!</p><a href="https://acme.test/receipts/${randomUUID()}">View receipt</a>`,
  tags: [{ name: "category", value: "receipt" }],
});

/** Until every notification of `emailIds` is in its planned state, or the deadline passes. */
async function statesSettle(emailIds: string[], timeoutMs = 20_000): Promise<Map<string, string>> {
  const planned = (id: string) => standin.webhooks?.plans.get(id)?.expectedState;
  let states = new Map<string, string>();
  return waitUntil(
    `${emailIds.length} notifications to reach their planned states`,
    async () => {
      states = await ops.statesByEmailId(stack.db, emailIds);
      return emailIds.every((id) => states.get(id) === planned(id)) ? states : undefined;
    },
    timeoutMs,
    {
      intervalMs: 100,
      detail: () =>
        JSON.stringify(
          emailIds.filter((id) => states.get(id) !== planned(id)).map((id) => [id, states.get(id), planned(id)]),
        ),
    },
  );
}

describe("the stand-in's webhooks through the API and the worker", () => {
  it("150 emails (sendBatch and send) with duplicates and disorder → each notification in its planned state, nothing left parked", async () => {
    const tenant = `standin-${randomUUID()}`;
    const batch = await mailstate.sendBatch(
      resend,
      Array.from({ length: 120 }, (_, i) => email(`batch${i}-${tenant}@example.com`)),
      { tenant },
    );
    const singles = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        mailstate.send(resend, email(`single${i}-${tenant}@example.com`), { tenant }),
      ),
    );
    const results = [...batch, ...singles];
    expect(results.filter((result) => result.status !== "sent")).toEqual([]);
    const emailIds = results.flatMap((result) => (result.status === "sent" ? [result.resendEmailId] : []));

    await standin.idle(20_000);
    await stack.drained();
    const states = await statesSettle(emailIds);

    const mismatches = emailIds
      .map((id) => ({ id, planned: standin.webhooks?.plans.get(id)?.expectedState, actual: states.get(id) }))
      .filter((row) => row.planned !== row.actual);
    expect(mismatches).toEqual([]);
    // The run covered what it claims to: every outcome, duplicates, and nothing failed to post.
    const planned = new Set([...(standin.webhooks?.plans.values() ?? [])].map((plan) => plan.expectedState));
    expect([...planned].sort()).toEqual(["bounced", "complained", "delivered", "delivery_delayed", "sent"]);
    expect(standin.counters.duplicates).toBeGreaterThan(0);
    expect(standin.counters.failed).toBe(0);
    expect(await ops.countUnmatched(stack.db)).toBe(0);

    // Bounces and complaints fed the suppression list the SDK consults.
    const hard = [...(standin.webhooks?.plans.values() ?? [])].find((plan) => plan.outcome === "bounced");
    const suppressedAddress = hard?.events[0]?.body.data.to;
    expect(suppressedAddress).toBeDefined();
    const address = Array.isArray(suppressedAddress) ? suppressedAddress[0] : suppressedAddress;
    expect(await mailstate.getSuppression(address ?? "")).toMatchObject({ reason: "hard_bounce" });
    const refused = await mailstate.send(resend, email(address ?? ""), { tenant });
    expect(refused).toMatchObject({ status: "suppressed", suppressed: [{ email: address, reason: "hard_bounce" }] });
  });

  it("a password reset to a hard-bounced address with bypassSuppression → Resend answers email.suppressed → state suppressed", async () => {
    const address = `bounced+${randomUUID()}@resend.dev`;
    const first = await mailstate.send(resend, email(address));
    if (first.status !== "sent") throw new Error(`not sent: ${JSON.stringify(first)}`);
    await standin.idle(10_000);
    await stack.drained();
    expect((await statesSettle([first.resendEmailId])).get(first.resendEmailId)).toBe("bounced");

    const reset = await mailstate.send(resend, email(address), { bypassSuppression: true, category: "password_reset" });
    if (reset.status !== "sent" || !reset.notificationId) throw new Error(`not sent: ${JSON.stringify(reset)}`);
    await standin.idle(10_000);
    await stack.drained();
    expect((await statesSettle([reset.resendEmailId])).get(reset.resendEmailId)).toBe("suppressed");
    expect(await mailstate.get(reset.notificationId)).toMatchObject({ suppressionBypassed: true, state: "suppressed" });
  });
});
