// End to end in one process: the API (createApp) on an ephemeral port, a worker (startWorkers), the
// SDK sending through the Resend stand-in, Svix-signed webhooks posted to /webhooks/resend, and the
// timeline read back over /v1. Real PostgreSQL and Redis throughout.
import { randomUUID } from "node:crypto";
import { type MailstateStack, mailstateSystem } from "@mailstate/api/testing";
import { jobIdFor } from "@mailstate/queue";
import { createResendStandin, type ResendStandin } from "@mailstate/resend-standin";
import { createMailstate, type Mailstate, type Timeline } from "@mailstate/sdk";
import { deliverWebhook, resendEvent, startStack, waitUntil } from "@mailstate/test-support";
import { Resend } from "resend";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let stack: MailstateStack;
let standin: ResendStandin;
let resend: Resend;
let mailstate: Mailstate;

beforeAll(async () => {
  stack = await startStack("e2e_timeline", mailstateSystem);
  await stack.startWorker();
  standin = await createResendStandin();
  resend = new Resend("re_test_key", { baseUrl: standin.url });
  mailstate = createMailstate({ baseUrl: stack.baseUrl, apiKey: stack.apiKey });
});
afterAll(async () => {
  await stack?.close();
  await standin?.close();
});

/** Post an event to /webhooks/resend as Resend does: JSON body, Svix headers, signed now. */
const post = (body: object) => deliverWebhook(stack.baseUrl, body);

async function timelineWith(id: string, eventCount: number, timeoutMs = 10_000): Promise<Timeline> {
  let seen: number | undefined;
  return waitUntil(
    `the timeline of ${id} to have ${eventCount} events`,
    async () => {
      const timeline = await mailstate.timeline(id);
      seen = timeline?.events.length;
      return timeline && timeline.events.length >= eventCount ? timeline : undefined;
    },
    timeoutMs,
    { detail: () => `it has ${seen}` },
  );
}

describe("record, then webhooks, then timeline", () => {
  it("SDK send, then signed delivered/sent/clicked/opened posted out of order → timeline in event time: sent, delivered, delivered, delivered; the click keeps its link", async () => {
    const to = `${randomUUID()}@e2e.test`;
    const sent = await mailstate.send(resend, { from: "Acme <hello@acme.test>", to, subject: "Hi", html: "<p>Hi</p>" });
    expect(sent.status).toBe("sent");
    if (sent.status !== "sent" || !sent.notificationId) throw new Error("not sent and recorded");
    const emailId = sent.resendEmailId;

    await post(resendEvent("email.delivered", emailId, 2, to));
    await post(resendEvent("email.sent", emailId, 1, to));
    await post(
      resendEvent("email.clicked", emailId, 4, to, {
        click: { link: "https://acme.test/reset", timestamp: "2026-11-22T10:00:04.000Z", ipAddress: "203.0.113.9" },
      }),
    );
    await post(resendEvent("email.opened", emailId, 3, to));

    const timeline = await timelineWith(sent.notificationId, 4);
    expect(timeline.events.map((entry) => [entry.type, entry.stateAfter])).toEqual([
      ["email.sent", "sent"],
      ["email.delivered", "delivered"],
      ["email.opened", "delivered"],
      ["email.clicked", "delivered"],
    ]);
    expect(timeline.events.map((entry) => entry.moved)).toEqual([true, true, false, false]);
    // Recorded with its id before any event: nothing was parked.
    expect(timeline.events.map((entry) => entry.replayedAt)).toEqual([null, null, null, null]);
    expect(timeline.events[3]?.engagement).toMatchObject({ link: "https://acme.test/reset", ipAddress: "203.0.113.9" });
    expect(timeline.state).toBe("delivered");
    expect(timeline.recipients).toEqual([{ email: to, suppressed: false, reason: null, since: null }]);
    await stack.drained();
    expect(await mailstate.get(sent.notificationId)).toMatchObject({
      state: "delivered",
      resendEmailId: emailId,
      openCount: 1,
      clickCount: 1,
    });
  });

  it("a permanent bounce after sent → timeline ends bounced with Resend's bounce detail, and the recipient shows suppressed (hard_bounce)", async () => {
    const to = `${randomUUID()}@e2e.test`;
    const emailId = randomUUID();
    const recorded = await mailstate.record({ to, from: "hello@acme.test", subject: "Hi", resendEmailId: emailId });
    if (!recorded.notification) throw new Error("not recorded");
    await post(resendEvent("email.sent", emailId, 1, to));
    await post(
      resendEvent("email.bounced", emailId, 5, to, {
        bounce: { type: "Permanent", subType: "General", message: "mailbox does not exist" },
      }),
    );
    // Resend's retry of an earlier delivered arrives last and changes nothing.
    await post(resendEvent("email.delivered", emailId, 3, to));

    const timeline = await timelineWith(recorded.notification.id, 3);
    expect(timeline.events.map((entry) => entry.stateAfter)).toEqual(["sent", "delivered", "bounced"]);
    expect(timeline.events[2]?.detail).toMatchObject({
      bounce: { type: "Permanent", message: "mailbox does not exist" },
    });
    await stack.drained();
    const after = await mailstate.timeline(recorded.notification.id);
    expect(after?.recipients).toEqual([
      { email: to, suppressed: true, reason: "hard_bounce", since: expect.any(String) },
    ]);
  });

  it("webhooks before the send is recorded → parked; recording the Resend id replays them → delivered within 3 s", async () => {
    const to = `${randomUUID()}@e2e.test`;
    const emailId = randomUUID();
    await post(resendEvent("email.sent", emailId, 1, to));
    await post(resendEvent("email.delivered", emailId, 2, to));
    await stack.drained();

    const started = Date.now();
    const recorded = await mailstate.record({ to, from: "hello@acme.test", subject: "Hi", resendEmailId: emailId });
    if (!recorded.notification) throw new Error("not recorded");
    const timeline = await timelineWith(recorded.notification.id, 2, 3_000);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(timeline.events.map((entry) => entry.stateAfter)).toEqual(["sent", "delivered"]);
  });

  it("input: a batch of 3 sends, the second one's sent and delivered parked (its unmatched retry 60 s away) → its timeline shows both within 3 s, its parking job is gone, the others have no events", async () => {
    const to = `${randomUUID()}@e2e.test`;
    const emailIds = [randomUUID(), randomUUID(), randomUUID()];
    const parkedId = emailIds[1] as string;
    await post(resendEvent("email.sent", parkedId, 1, to));
    await post(resendEvent("email.delivered", parkedId, 2, to));
    await stack.drained();
    const parkingJob = jobIdFor("unmatched", parkedId);
    expect(await stack.queues.unmatched.getJobState(parkingJob)).toBe("delayed");

    const started = Date.now();
    const recorded = await mailstate.recordBatch(
      emailIds.map((resendEmailId) => ({ to, from: "hello@acme.test", subject: "Hi", resendEmailId })),
    );
    const ids = recorded.map((result) => result.notification?.id ?? "");
    const timeline = await timelineWith(ids[1] as string, 2, 3_000);
    // Well before the first retry of the parked job: the record's replay applied them.
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(timeline.events.map((entry) => entry.stateAfter)).toEqual(["sent", "delivered"]);
    await waitUntil(
      "the parking job to be removed once its events applied",
      async () => ((await stack.queues.unmatched.getJob(parkingJob)) ? undefined : true),
      5_000,
    );
    for (const id of [ids[0], ids[2]]) expect((await mailstate.timeline(id as string))?.events).toEqual([]);
  });

  it("record without an id, webhooks parked, then attach (PATCH) → the parked events are replayed into the timeline", async () => {
    const to = `${randomUUID()}@e2e.test`;
    const emailId = randomUUID();
    const recorded = await mailstate.record({ to, from: "hello@acme.test", subject: "Hi" });
    if (!recorded.notification) throw new Error("not recorded");
    await post(resendEvent("email.sent", emailId, 1, to));
    await stack.drained();
    expect((await mailstate.timeline(recorded.notification.id))?.events).toEqual([]);

    await mailstate.attach(recorded.notification.id, emailId);
    const timeline = await timelineWith(recorded.notification.id, 1, 3_000);
    expect(timeline.events.map((entry) => [entry.type, entry.stateAfter])).toEqual([["email.sent", "sent"]]);
    // Received after the notification was created, yet parked: it waited for the id, not for the record.
    const [entry] = timeline.events;
    expect(Date.parse(entry?.receivedAt ?? "")).toBeGreaterThan(Date.parse(recorded.notification.createdAt));
    expect(Date.parse(entry?.replayedAt ?? "")).toBeGreaterThan(Date.parse(entry?.receivedAt ?? ""));
  });
});
