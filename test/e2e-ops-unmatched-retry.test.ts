// Ops retry a parked event from Bull Board once its send is recorded: the event is parked (its
// email id is unknown), its unmatched job fails for good, the notification is then recorded
// straight into PostgreSQL (so no automatic replay runs), and a retry through Bull Board's own
// HTTP API, with a worker running, applies the event.
import { randomUUID } from "node:crypto";
import { type MailstateStack, mailstateSystem } from "@mailstate/api/testing";
import { events, notificationReads, notificationRecords } from "@mailstate/db";
import { createRedis, jobIdFor, QUEUE_NAMES } from "@mailstate/queue";
import {
  basicAuth,
  deliverWebhook,
  OPS_ENV,
  resendEvent,
  startStack,
  testRedisUrl,
  waitUntil,
} from "@mailstate/test-support";
import { Job, UnrecoverableError, Worker } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let stack: MailstateStack;

beforeAll(async () => {
  stack = await startStack("ops_retry", mailstateSystem, { env: OPS_ENV });
});
afterAll(async () => {
  await stack?.close();
});

/** Take the job out of the delayed set and fail it for good, as after its last attempt. */
async function failForGood(jobId: string): Promise<void> {
  const queue = stack.queues.unmatched;
  const connection = createRedis(testRedisUrl(), "worker");
  const manual = new Worker(QUEUE_NAMES.unmatched, undefined, { connection, prefix: queue.opts.prefix });
  try {
    const job = await Job.fromId(queue, jobId);
    if (!job) throw new Error(`no job ${jobId}`);
    await job.promote();
    const token = randomUUID();
    const taken = await manual.getNextJob(token);
    expect(taken?.id).toBe(jobId);
    await taken?.moveToFailed(new UnrecoverableError("still unmatched after the last attempt"), token);
  } finally {
    await manual.close();
    connection.disconnect();
  }
}

/** inbox.replay-email jobs for an email id, whatever their state. */
async function replayJobsFor(emailId: string) {
  const jobs = await stack.queues.inbox.getJobs(["waiting", "delayed", "prioritized", "active", "completed", "failed"]);
  return jobs.filter((job) => job.name === "inbox.replay-email" && job.data.emailId === emailId);
}

describe("retrying a failed unmatched job from Bull Board", () => {
  it("parked event, job failed for good, send recorded without replay → PUT …/unmatched/<jobId>/retry applies it: delivered", async () => {
    const to = `${randomUUID()}@ops.test`;
    const emailId = randomUUID();

    // 1. The webhook arrives before any notification carries its email id: parked.
    const firstWorker = await stack.startWorker();
    const svixId = await deliverWebhook(stack.baseUrl, resendEvent("email.delivered", emailId, 2, to));
    await stack.drained();
    // One job per email id, whose data says what waits, for whom, since when, and where to look.
    const jobId = jobIdFor("unmatched", emailId);
    const parked = await waitUntil("the unmatched job", async () => stack.queues.unmatched.getJob(jobId), 10_000);
    expect(parked.data).toMatchObject({
      emailId,
      type: "email.delivered",
      recipient: to,
      subject: expect.any(String),
      supportUrl: `/support?q=${emailId}`,
    });
    expect(Date.parse(parked.data.parkedAt)).toBeGreaterThanOrEqual(Date.parse(parked.data.occurredAt));
    expect((await events.findBySvixId(stack.db, svixId))?.status).toBe("unmatched");

    // 2. Its retries are spent: failed for good. No worker runs while it is taken out by hand.
    await firstWorker.close();
    await failForGood(jobId);
    expect(await stack.queues.unmatched.getJobState(jobId)).toBe("failed");

    // 3. The send is recorded directly in PostgreSQL: no replay is enqueued, nothing applies the event.
    const { notification } = await notificationRecords.record(stack.sql, {
      recipients: [to],
      from: "hello@acme.test",
      subject: "Your receipt",
      resendEmailId: emailId,
    });
    await stack.startWorker();
    // The worker has had its chance: an event of another notification, posted after the record, is
    // applied. No replay of this email id waits in the inbox, and none ran (it would have applied the
    // event: the state below says it did not).
    const marker = await notificationRecords.record(stack.sql, {
      recipients: [`marker-${to}`],
      from: "hello@acme.test",
      subject: "Marker",
      resendEmailId: randomUUID(),
    });
    await deliverWebhook(
      stack.baseUrl,
      resendEvent("email.delivered", marker.notification.resendEmailId ?? "", 2, `marker-${to}`),
    );
    await waitUntil(
      "the worker to apply an event posted after the record",
      async () => (await notificationReads.findById(stack.db, marker.notification.id))?.state === "delivered",
      10_000,
    );
    expect(await replayJobsFor(emailId)).toEqual([]);
    expect((await notificationReads.findById(stack.db, notification.id))?.state).toBe("recorded");
    expect((await events.findBySvixId(stack.db, svixId))?.status).toBe("unmatched");
    expect(await stack.queues.unmatched.getJobState(jobId)).toBe("failed");

    // 4. Ops press "retry" in Bull Board: its API, behind the ops credentials.
    const retryUrl = `${stack.baseUrl}/admin/queues/api/queues/${QUEUE_NAMES.unmatched}/${encodeURIComponent(jobId)}/retry`;
    const stranger = await fetch(retryUrl, { method: "PUT" });
    expect(stranger.status).toBe(401);
    expect(await stack.queues.unmatched.getJobState(jobId)).toBe("failed");

    const retried = await fetch(retryUrl, { method: "PUT", headers: { authorization: basicAuth() } });
    expect(retried.status).toBe(204);

    // 5. The running worker applies the parked event: the notification reaches its state.
    const state = await waitUntil(
      "the notification to be delivered",
      async () => {
        const row = await notificationReads.findById(stack.db, notification.id);
        return row?.state === "delivered" ? row.state : undefined;
      },
      10_000,
    );
    expect(state).toBe("delivered");
    expect(await events.findBySvixId(stack.db, svixId)).toMatchObject({
      status: "applied",
      notificationId: notification.id,
    });
    await waitUntil(
      "the job to complete",
      async () => ((await stack.queues.unmatched.getJobState(jobId)) === "completed" ? true : undefined),
      10_000,
    );
    expect((await stack.queues.unmatched.getJob(jobId))?.returnvalue).toEqual({ applied: 1 });

    // The timeline shows it, and the support page marks it as parked, then replayed.
    const timeline = await stack.call("GET", `/v1/notifications/${notification.id}/timeline`);
    expect(
      timeline.body.events.map((entry: { type: string; stateAfter: string }) => [entry.type, entry.stateAfter]),
    ).toEqual([["email.delivered", "delivered"]]);
    expect(Date.parse(timeline.body.events[0].replayedAt)).toBeGreaterThan(
      Date.parse(timeline.body.events[0].receivedAt),
    );
    const page = await fetch(`${stack.baseUrl}/support/notifications/${notification.id}`, {
      headers: { authorization: basicAuth() },
    });
    const text = await page.text();
    expect(text).toContain("parked, then replayed");
    expect(text).toContain(svixId);
  });
});
