// The stand-in's reconciliation API as the real `resend` package calls it: emails.get's last_event,
// suppressions, contact updates, a webhook endpoint's delivery log with replay, lost webhooks, faults.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Resend } from "resend";
import { afterEach, describe, expect, it } from "vitest";
import { createResendStandin, type ResendStandin } from "./index.ts";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const email = { from: "Acme <hello@acme.test>", to: ["ada@example.com"], subject: "Hi", html: "<p>Hi</p>" };

let standin: ResendStandin | undefined;
let receiver: Server | undefined;
afterEach(async () => {
  await standin?.close();
  receiver?.closeAllConnections();
  receiver?.close();
  standin = undefined;
  receiver = undefined;
});

/** An endpoint that answers 200 and keeps the svix ids it received. */
async function startReceiver(): Promise<{ url: string; svixIds: string[] }> {
  const svixIds: string[] = [];
  receiver = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      svixIds.push(String(req.headers["svix-id"]));
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver?.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/resend`, svixIds };
}

describe("emails.get last_event", () => {
  it("follows the simulated lifecycle: a delivered email answers delivered once its events happened", async () => {
    const { url } = await startReceiver();
    standin = await createResendStandin({
      webhook: { url, secret: SECRET, rates: { bounce: 0 }, lifecycleMs: 50, maxDelayMs: 0, seed: 1 },
    });
    const resend = new Resend("re_test", { baseUrl: standin.url });
    const sent = await resend.emails.send({ ...email, to: ["delivered@resend.dev"] });
    await standin.idle(5_000);
    const read = await resend.emails.get(sent.data?.id ?? "");
    expect(read.data?.last_event).toBe("delivered");
    standin.setLastEvent(sent.data?.id ?? "", "canceled");
    expect((await resend.emails.get(sent.data?.id ?? "")).data?.last_event).toBe("canceled");
    expect(standin.routeCalls.get("GET /emails/:id")).toBe(2);
  });
});

describe("suppressions", () => {
  it("add → get → list → remove through resend.suppressions; unknown address → 404", async () => {
    standin = await createResendStandin();
    const resend = new Resend("re_test", { baseUrl: standin.url });
    const added = await resend.suppressions.add({ email: "Ada@Example.com" });
    expect(added.data).toMatchObject({ object: "suppression" });
    const got = await resend.suppressions.get("ada@example.com");
    expect(got.data).toMatchObject({ email: "ada@example.com", origin: "manual", id: added.data?.id });
    const listed = await resend.suppressions.list();
    expect(listed.data?.data.map((entry) => entry.email)).toEqual(["ada@example.com"]);
    const removed = await resend.suppressions.remove("ada@example.com");
    expect(removed.data).toMatchObject({ deleted: true });
    expect(standin.suppressions.size).toBe(0);
    const missing = await resend.suppressions.remove("ada@example.com");
    expect(missing.error).toMatchObject({ statusCode: 404, name: "not_found" });
  });

  it("a hard bounce puts the address on the list with origin bounce, and posts suppression.added when asked", async () => {
    const { url, svixIds } = await startReceiver();
    standin = await createResendStandin({
      webhook: { url, secret: SECRET, lifecycleMs: 20, maxDelayMs: 0, duplicateRate: 0 },
      suppressionEvents: true,
    });
    const resend = new Resend("re_test", { baseUrl: standin.url });
    await resend.emails.send({ ...email, to: ["bounced@resend.dev"] });
    await standin.idle(5_000);
    expect(standin.suppressions.get("bounced@resend.dev")).toMatchObject({ origin: "bounce" });
    const types = [...(standin.webhooks?.log.values() ?? [])].map((entry) => entry.type);
    expect(types).toContain("suppression.added");
    expect(svixIds.length).toBe(types.length);
  });
});

describe("contacts.update", () => {
  it("unsubscribes a contact of an audience; an unknown contact → 404", async () => {
    standin = await createResendStandin();
    const resend = new Resend("re_test", { baseUrl: standin.url });
    const contact = standin.addContact("aud_1", "ada@example.com");
    const updated = await resend.contacts.update({ audienceId: "aud_1", email: "ada@example.com", unsubscribed: true });
    expect(updated.error).toBeNull();
    expect(contact.unsubscribed).toBe(true);
    const unknown = await resend.contacts.update({ audienceId: "aud_1", email: "bob@example.com", unsubscribed: true });
    expect(unknown.error).toMatchObject({ statusCode: 404 });
  });
});

describe("webhook delivery log", () => {
  it("lossRate 1: every webhook is logged failed, none posted; replay posts it with its svix id", async () => {
    const { url, svixIds } = await startReceiver();
    standin = await createResendStandin({
      webhook: {
        url,
        secret: SECRET,
        lossRate: 1,
        rates: { open: 0, click: 0, delay: 0 },
        lifecycleMs: 20,
        maxDelayMs: 0,
        duplicateRate: 0,
      },
    });
    const resend = new Resend("re_test", { baseUrl: standin.url });
    await resend.emails.send({ ...email, to: ["delivered@resend.dev"] });
    await standin.idle(5_000);
    expect(svixIds).toEqual([]);
    const listed = await resend.webhooks.events.list({ webhookId: standin.webhookId });
    const failed = listed.data?.data.filter((entry) => entry.status === "failed") ?? [];
    expect(failed.map((entry) => entry.type).sort()).toEqual(["email.delivered", "email.sent"]);
    const one = await resend.webhooks.events.get({ webhookId: standin.webhookId, eventId: failed[0]?.id ?? "" });
    expect(one.data?.payload).toMatchObject({ type: failed[0]?.type });
    const replayed = await resend.webhooks.events.replay({
      webhookId: standin.webhookId,
      eventId: failed[0]?.id ?? "",
    });
    expect(replayed.error).toBeNull();
    await standin.idle(5_000);
    expect(svixIds).toEqual([failed[0]?.id]);
    expect(standin.webhooks?.log.get(failed[0]?.id ?? "")?.status).toBe("success");
    const other = await resend.webhooks.events.list({ webhookId: "wh_other" });
    expect(other.error).toMatchObject({ statusCode: 404 });
  });
});

describe("faults", () => {
  it("a 429 then a 500 are answered before the real reply; a delay holds the answer", async () => {
    standin = await createResendStandin();
    const resend = new Resend("re_test", { baseUrl: standin.url });
    standin.injectFault({ route: "GET /suppressions", status: 429 });
    standin.injectFault({ route: "GET /suppressions", status: 500 });
    expect((await resend.suppressions.list()).error).toMatchObject({ statusCode: 429 });
    expect((await resend.suppressions.list()).error).toMatchObject({ statusCode: 500 });
    expect((await resend.suppressions.list()).error).toBeNull();
    standin.injectFault({ route: "GET /suppressions", delayMs: 300 });
    const started = Date.now();
    await resend.suppressions.list();
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(standin.routeCalls.get("GET /suppressions")).toBe(4);
  });
});
