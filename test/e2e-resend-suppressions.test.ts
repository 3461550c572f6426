// mailstate's suppression list kept in step with Resend's, against the stand-in over HTTP:
// suppression.added / suppression.removed / email.suppressed come in by webhook (inbound), changes
// made in mailstate go out to Resend's list (both), a bypassing send is warned that Resend's list
// still holds the address, and new hard bounces and complaints unsubscribe the audience's contact.
import { randomUUID } from "node:crypto";
import { type MailstateStack, mailstateSystem } from "@mailstate/api/testing";
import { createResendStandin, type ResendStandin } from "@mailstate/resend-standin";
import { createMailstate, type Mailstate } from "@mailstate/sdk";
import {
  newSvixId,
  resendEvent,
  startStack,
  TEST_WEBHOOK_SECRET,
  waitForDrain,
  waitUntil,
} from "@mailstate/test-support";
import { runMailstate } from "@mailstate/worker/testing";
import { Resend } from "resend";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let stack: MailstateStack;
let standin: ResendStandin;
let resend: Resend;
let mailstate: Mailstate;
const AUDIENCE = "aud_e2e";

beforeAll(async () => {
  standin = await createResendStandin({ suppressionEvents: true });
  const env = {
    RESEND_API_KEY: "re_test_sync",
    RESEND_BASE_URL: standin.url,
    RESEND_API_RPS: "50",
    RESEND_SUPPRESSION_SYNC: "both",
    RESEND_AUDIENCE_ID: AUDIENCE,
    SWEEPER_STALE_AFTER_MS: "86400000",
  };
  stack = await startStack("e2e_resend_sync", mailstateSystem, { env });
  await stack.startWorker();
  // The stand-in posts its webhooks (suppression.* included) to the API now that it listens.
  await standin.close();
  standin = await createResendStandin({
    port: Number(new URL(env.RESEND_BASE_URL).port),
    suppressionEvents: true,
    webhook: {
      url: `${stack.baseUrl}/webhooks/resend`,
      secret: TEST_WEBHOOK_SECRET,
      maxDelayMs: 20,
      lifecycleMs: 50,
      duplicateRate: 0,
    },
  });
  resend = new Resend("re_test_sync", { baseUrl: standin.url });
  mailstate = createMailstate({ baseUrl: stack.baseUrl, apiKey: stack.apiKey });
});
afterAll(async () => {
  await standin?.close();
  await stack?.close();
});

const address = (label: string) => `${label}-${randomUUID()}@example.com`;
const suppressionOf = (email: string) => stack.call("GET", `/v1/suppressions/${encodeURIComponent(email)}`);

async function until(what: string, check: () => boolean | Promise<boolean>) {
  await waitUntil(what, check, 10_000, { intervalMs: 50 });
}

describe("inbound: Resend's list into mailstate's, from webhooks", () => {
  it("an address added in Resend (suppression.added, origin manual) → on mailstate's list, source resend; removed there (suppression.removed) → off it", async () => {
    const email = address("dashboard");
    await resend.suppressions.add({ email });
    await until("the address on mailstate's list", async () => (await suppressionOf(email)).status === 200);
    expect((await suppressionOf(email)).body).toMatchObject({
      email,
      reason: "manual",
      source: "resend",
      onResendList: true,
    });
    await resend.suppressions.remove(email);
    await until("the address off mailstate's list", async () => (await suppressionOf(email)).status === 404);
  });

  it("suppression.added with origin bounce → reason hard_bounce; suppression.removed leaves mailstate's own rows be", async () => {
    const fromResend = address("resend-bounce");
    await stack.postWebhook({
      type: "suppression.added",
      created_at: new Date().toISOString(),
      data: {
        id: randomUUID(),
        email: fromResend,
        origin: "bounce",
        source_id: null,
        created_at: new Date().toISOString(),
      },
    });
    await until("the bounce on mailstate's list", async () => (await suppressionOf(fromResend)).status === 200);
    expect((await suppressionOf(fromResend)).body).toMatchObject({ reason: "hard_bounce", source: "resend" });

    // mailstate's own hard bounce: Resend lifting its entry does not lift mailstate's.
    const own = address("own-bounce");
    await stack.postWebhook(
      resendEvent("email.bounced", randomUUID(), 1, own, {
        bounce: { type: "Permanent", subType: "General", message: "550" },
      }),
    );
    await until("mailstate's own bounce", async () => (await suppressionOf(own)).status === 200);
    await stack.postWebhook({
      type: "suppression.removed",
      created_at: new Date().toISOString(),
      data: { id: randomUUID(), email: own, origin: "bounce", source_id: null, created_at: new Date().toISOString() },
    });
    await stack.drained();
    expect((await suppressionOf(own)).body).toMatchObject({
      reason: "hard_bounce",
      source: "mailstate",
      onResendList: false,
    });
  });

  it("email.suppressed for an address mailstate never listed → marked suppressed by Resend; a bypassing send to it is warned", async () => {
    const email = address("resend-only");
    await stack.postWebhook(
      resendEvent("email.suppressed", randomUUID(), 2, email, {
        suppressed: { type: "OnAccountSuppressionList", message: "on the account's list" },
      }),
    );
    await until("the address marked", async () => (await suppressionOf(email)).status === 200);
    expect((await suppressionOf(email)).body).toMatchObject({ source: "resend", onResendList: true });

    const reset = await mailstate.send(
      resend,
      { from: "Acme <hello@acme.test>", to: email, subject: "Reset your password", text: "…" },
      { bypassSuppression: true, category: "password_reset" },
    );
    expect(reset.status).toBe("sent");
    const warnings = reset.status === "sent" ? reset.warnings : [];
    expect(warnings.map((warning) => warning.code)).toEqual(["suppressed_by_resend"]);
    expect(warnings[0]?.message).toContain("Resend's own suppression list");
  });

  it("a hard bounce through the stand-in: mailstate's row, and Resend's suppression.added marks it → a bypassing send is warned", async () => {
    const email = `bounced+${randomUUID()}@resend.dev`;
    const first = await mailstate.send(resend, { from: "Acme <hello@acme.test>", to: email, subject: "Hi", text: "x" });
    expect(first.status).toBe("sent");
    await standin.idle(5_000);
    await until("marked on Resend's list", async () => (await suppressionOf(email)).body?.onResendList === true);
    // Its reason is the bounce's, whichever of the bounce and Resend's suppression.added came first.
    expect((await suppressionOf(email)).body).toMatchObject({ reason: "hard_bounce", onResendList: true });
    const reset = await mailstate.send(
      resend,
      { from: "Acme <hello@acme.test>", to: email, subject: "Reset", text: "x" },
      { bypassSuppression: true },
    );
    expect(reset.status === "sent" && reset.warnings.map((warning) => warning.code)).toEqual(["suppressed_by_resend"]);
  });
});

describe("both: mailstate's changes out to Resend's list", () => {
  it("POST /v1/suppressions → on the stand-in's list; DELETE → off it; the answers never wait for Resend", async () => {
    const email = address("manual");
    const added = await stack.call("POST", "/v1/suppressions", { email, note: "asked us" });
    expect(added.status).toBe(201);
    await until("on the stand-in's list", () => standin.suppressions.get(email)?.origin === "manual");
    // Resend answers 500 to the removal once: the job retries, the API answered at once.
    standin.injectFault({ route: "DELETE /suppressions/:idOrEmail", status: 500 });
    const started = Date.now();
    const removed = await stack.call("DELETE", `/v1/suppressions/${encodeURIComponent(email)}`);
    expect(removed.status).toBe(204);
    expect(Date.now() - started).toBeLessThan(1_000);
    await until("off the stand-in's list", () => !standin.suppressions.has(email));
    const deletes = standin.requests.filter((request) => request.path === `/suppressions/${encodeURIComponent(email)}`);
    expect(deletes.map((request) => [request.method, request.status])).toEqual([
      ["DELETE", 500],
      ["DELETE", 200],
    ]);
  });

  it("pnpm mailstate suppressions remove <email> → off the stand-in's list too", async () => {
    const email = address("cli");
    await stack.call("POST", "/v1/suppressions", { email });
    await until("on the stand-in's list", () => standin.suppressions.has(email));
    const run = await runMailstate(
      { databaseUrl: stack.databaseUrl, prefix: stack.prefix, env: stack.env },
      "suppressions",
      "remove",
      email,
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("queued its removal from Resend's suppression list");
    await until("off the stand-in's list", () => !standin.suppressions.has(email));
  });

  it("a soft-bounce run reaching the threshold (3) → the address added to the stand-in's list", async () => {
    const email = address("soft");
    for (const second of [1, 2, 3])
      await stack.postWebhook(
        resendEvent("email.bounced", randomUUID(), second, email, {
          bounce: { type: "Transient", subType: "MailboxFull", message: "full" },
        }),
      );
    await until("on the stand-in's list", () => standin.suppressions.has(email));
    expect((await suppressionOf(email)).body).toMatchObject({ reason: "soft_bounce_threshold", source: "mailstate" });
  });
});

describe("audience sync (RESEND_AUDIENCE_ID)", () => {
  const updates = () => standin.requests.filter((request) => request.route?.startsWith("PATCH /audiences/"));

  it("a hard bounce of a contact → unsubscribed once; the same bounce again and a second bounce add no call", async () => {
    const email = address("contact");
    const contact = standin.addContact(AUDIENCE, email);
    const before = updates().length;
    const bounce = resendEvent("email.bounced", randomUUID(), 5, email, {
      bounce: { type: "Permanent", subType: "General", message: "550" },
    });
    const svixId = newSvixId();
    await stack.postWebhook(bounce, svixId);
    await until("the contact unsubscribed", () => contact.unsubscribed);
    await stack.postWebhook(bounce, svixId);
    await stack.postWebhook(
      resendEvent("email.bounced", randomUUID(), 6, email, {
        bounce: { type: "Permanent", subType: "General", message: "550" },
      }),
    );
    await stack.drained();
    // Every bounce is reconciled and the calls it queued are on the resend queue: once it has done
    // them, every call this test caused has been made.
    await waitForDrain(stack.queues.resend);
    expect(updates().length - before).toBe(1);
  });

  it("a complaint from an address that is no contact (404) → done, not retried, nothing failed", async () => {
    const email = address("stranger");
    const before = updates().length;
    await stack.postWebhook(resendEvent("email.complained", randomUUID(), 7, email));
    await until("the update answered 404", () =>
      updates()
        .slice(before)
        .some((request) => request.status === 404),
    );
    // A retry would wait, delayed, on the resend queue: once the queue is drained none is left.
    await waitForDrain(stack.queues.resend);
    expect(updates().length - before).toBe(1);
    expect((await stack.queues.resend.getJobCounts("failed", "delayed")).failed).toBe(0);
  });
});
