// /v1 against the real app, PostgreSQL (a database of its own) and Redis (a prefix of its own).
import { randomUUID } from "node:crypto";
import { events, suppressions, withSqlTransaction } from "@mailstate/db";
import { eventFor, newSvixId, startStack } from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MailstateStack, mailstateSystem } from "../../test/testing.ts";

let api: MailstateStack;
beforeAll(async () => {
  api = await startStack("api_v1", mailstateSystem);
});
afterAll(async () => {
  await api?.close();
});

const unique = (label: string) => `${label}-${randomUUID()}`;

function notification(overrides: Record<string, unknown> = {}) {
  return { to: "Ada <Ada@Example.com>", from: "Acme <hello@acme.test>", subject: "Reset your password", ...overrides };
}

/** Replay jobs in the inbox; no worker runs in this file, so every job enqueued is still there. */
async function replayJobs() {
  const jobs = await api.queues.inbox.getJobs(["waiting", "delayed", "prioritized", "active", "completed"]);
  return jobs.filter((job) => job.name === "inbox.replay-email");
}

async function replayJobsFor(emailId: string) {
  return (await replayJobs()).filter((job) => job.data.emailId === emailId);
}

/**
 * An event of this email id logged unmatched, as the worker logs one that arrives before any
 * notification carries its id (its own statement, appendAndAdopt, in a transaction of its own).
 */
async function park(emailId: string): Promise<void> {
  const body = eventFor("email.sent", emailId, 1);
  await withSqlTransaction(api.sql, (client) =>
    events.appendAndAdopt(
      client,
      [
        {
          svixId: newSvixId(),
          type: body.type,
          occurredAt: new Date(body.created_at),
          ownTime: true,
          receivedAt: new Date(),
          emailId,
          payload: body,
          notificationId: null,
          status: "unmatched",
        },
      ],
      { emailIds: [], notificationIds: [] },
    ),
  );
}

describe("authentication", () => {
  it("no Authorization header → 401 problem+json", async () => {
    const answer = await api.call("GET", `/v1/notifications/${randomUUID()}`, undefined, {});
    expect(answer.status).toBe(401);
    expect(answer.contentType).toContain("application/problem+json");
    expect(answer.body).toMatchObject({ status: 401, type: "https://mailstate.dev/problems/unauthorized" });
  });

  it("a wrong key → 401; the second configured key → 200", async () => {
    const wrong = await api.call("POST", "/v1/notifications", notification(), {
      authorization: "Bearer msk_test_wrong_wrong_wrong_wrong",
    });
    expect(wrong.status).toBe(401);
    const second = await api.call("GET", "/v1/notifications?limit=1", undefined, {
      authorization: "Bearer msk_test_second_key_0000000000",
    });
    expect(second.status).toBe(200);
  });

  it("Basic credentials instead of a bearer key → 401", async () => {
    const answer = await api.call("GET", "/v1/notifications", undefined, { authorization: "Basic b3BzOm9wcw==" });
    expect(answer.status).toBe(401);
  });
});

describe("POST /v1/notifications", () => {
  it("a valid body → 201 with the notification, recipients normalized, state recorded", async () => {
    const answer = await api.call("POST", "/v1/notifications", notification({ tags: { kind: "reset" } }));
    expect(answer.status).toBe(201);
    expect(answer.body.created).toBe(true);
    expect(answer.body.notification).toMatchObject({
      to: ["ada@example.com"],
      from: "Acme <hello@acme.test>",
      state: "recorded",
      tags: { kind: "reset" },
      suppressionBypassed: false,
      resendEmailId: null,
    });
  });

  it("the same idempotencyKey twice → 201 then 200 with the same notification", async () => {
    const key = unique("key");
    const first = await api.call("POST", "/v1/notifications", notification({ idempotencyKey: key }));
    const second = await api.call("POST", "/v1/notifications", notification({ idempotencyKey: key, subject: "other" }));
    expect([first.status, second.status]).toEqual([201, 200]);
    expect(second.body).toMatchObject({ created: false, notification: { id: first.body.notification.id } });
    expect(second.body.notification.subject).toBe("Reset your password");
  });

  it("input: an email id with an event parked, recorded twice → 201 then 200 with the same notification, and one replay enqueued", async () => {
    const emailId = randomUUID();
    await park(emailId);
    const first = await api.call("POST", "/v1/notifications", notification({ resendEmailId: emailId }));
    const second = await api.call("POST", "/v1/notifications", notification({ resendEmailId: emailId }));
    expect([first.status, second.status]).toEqual([201, 200]);
    expect(second.body.notification.id).toBe(first.body.notification.id);
    expect(await replayJobsFor(emailId)).toHaveLength(1);
  });

  it("input: a key recorded without an id, then the same key with Resend's id (an event parked for it) → 200, the same notification now carrying it, one replay", async () => {
    const key = unique("key");
    const emailId = randomUUID();
    const first = await api.call("POST", "/v1/notifications", notification({ idempotencyKey: key }));
    await park(emailId);
    const second = await api.call(
      "POST",
      "/v1/notifications",
      notification({ idempotencyKey: key, resendEmailId: emailId }),
    );
    expect([first.status, second.status]).toEqual([201, 200]);
    expect(second.body).toMatchObject({
      created: false,
      notification: { id: first.body.notification.id, resendEmailId: emailId },
    });
    expect(await replayJobsFor(emailId)).toHaveLength(1);
    const third = await api.call(
      "POST",
      "/v1/notifications",
      notification({ idempotencyKey: key, resendEmailId: "re_other" }),
    );
    expect(third.body.notification.resendEmailId).toBe(emailId);
  });

  it("no `to` → 400 naming `to` in the detail and in errors[].path", async () => {
    const answer = await api.call("POST", "/v1/notifications", { from: "a@acme.test", subject: "Hi" });
    expect(answer.status).toBe(400);
    expect(answer.contentType).toContain("application/problem+json");
    expect(answer.body.type).toBe("https://mailstate.dev/problems/validation-failed");
    expect(answer.body.detail).toMatch(/^to: /);
    expect(answer.body.errors).toEqual([expect.objectContaining({ location: "body", path: "to" })]);
  });

  it('`to: ["not-an-address"]` → 400 naming to.0', async () => {
    const answer = await api.call("POST", "/v1/notifications", notification({ to: ["not-an-address"] }));
    expect(answer.status).toBe(400);
    expect(answer.body.errors).toEqual([
      expect.objectContaining({ path: "to.0", message: "must be an email address" }),
    ]);
  });

  it("tags with a number value and suppressionBypassed as a string → 400 naming both fields", async () => {
    const answer = await api.call(
      "POST",
      "/v1/notifications",
      notification({ tags: { n: 1 }, suppressionBypassed: "yes" }),
    );
    expect(answer.status).toBe(400);
    expect(answer.body.errors.map((error: { path: string }) => error.path).sort()).toEqual([
      "suppressionBypassed",
      "tags.n",
    ]);
  });

  it("a body that is not JSON → 400 malformed_json", async () => {
    const answer = await api.call("POST", "/v1/notifications", "{not json");
    expect(answer.status).toBe(400);
    expect(answer.body.type).toBe("https://mailstate.dev/problems/malformed-json");
  });
});

describe("POST /v1/notifications/batch", () => {
  it("3 notifications, one a repeat of an idempotency key → 201 with created [true, true, false]", async () => {
    const key = unique("batch");
    const answer = await api.call("POST", "/v1/notifications/batch", {
      notifications: [notification({ idempotencyKey: key }), notification(), notification({ idempotencyKey: key })],
    });
    expect(answer.status).toBe(201);
    expect(answer.body.data.map((item: { created: boolean }) => item.created)).toEqual([true, true, false]);
    expect(answer.body.data[2].notification.id).toBe(answer.body.data[0].notification.id);
  });

  it("input: 3 notifications carrying Resend ids with events parked, one of them twice → 201, one replay job per new id (enqueued together)", async () => {
    const emailIds = [randomUUID(), randomUUID(), randomUUID()];
    for (const emailId of emailIds) await park(emailId);
    const answer = await api.call("POST", "/v1/notifications/batch", {
      notifications: [...emailIds, emailIds[0]].map((resendEmailId) => notification({ resendEmailId })),
    });
    expect(answer.status).toBe(201);
    expect(answer.body.data.map((item: { created: boolean }) => item.created)).toEqual([true, true, true, false]);
    for (const emailId of emailIds) expect(await replayJobsFor(emailId)).toHaveLength(1);
  });

  it("101 notifications → 400 naming `notifications`", async () => {
    const answer = await api.call("POST", "/v1/notifications/batch", {
      notifications: Array.from({ length: 101 }, () => notification()),
    });
    expect(answer.status).toBe(400);
    expect(answer.body.errors).toEqual([expect.objectContaining({ path: "notifications" })]);
  });

  it("a bad third item → 400 naming notifications.2.subject, nothing recorded", async () => {
    const key = unique("half");
    const answer = await api.call("POST", "/v1/notifications/batch", {
      notifications: [notification({ idempotencyKey: key }), notification(), notification({ subject: 7 })],
    });
    expect(answer.status).toBe(400);
    expect(answer.body.detail).toContain("notifications.2.subject");
    const existing = await api.call("POST", "/v1/notifications", notification({ idempotencyKey: key }));
    expect(existing.status).toBe(201);
  });
});

describe("recording: repeats, duplicates in a batch, races, and replays only where events are parked", () => {
  const ids = (answer: { body: { data: { notification: { id: string } }[] } }) =>
    answer.body.data.map((item) => item.notification.id);

  it("input: a batch of [new key A, recorded key R, A again, no key, R again with Resend id E1 (an event parked), new key B with E2, new key C with E2, new key D with E1] → 201, created [t, f, f, t, f, t, f, f], each repeat the first row, R now carrying E1, one replay (E1)", async () => {
    const [a, r, b, c, d] = ["a", "r", "b", "c", "d"].map(unique) as [string, string, string, string, string];
    const [e1, e2] = [randomUUID(), randomUUID()];
    const recorded = (await api.call("POST", "/v1/notifications", notification({ idempotencyKey: r }))).body
      .notification;
    await park(e1);
    const answer = await api.call("POST", "/v1/notifications/batch", {
      notifications: [
        notification({ idempotencyKey: a }),
        notification({ idempotencyKey: r }),
        notification({ idempotencyKey: a, subject: "a second subject" }),
        notification(),
        notification({ idempotencyKey: r, resendEmailId: e1 }),
        notification({ idempotencyKey: b, resendEmailId: e2 }),
        notification({ idempotencyKey: c, resendEmailId: e2 }),
        notification({ idempotencyKey: d, resendEmailId: e1 }),
      ],
    });
    expect(answer.status).toBe(201);
    expect(answer.body.data.map((item: { created: boolean }) => item.created)).toEqual([
      true,
      false,
      false,
      true,
      false,
      true,
      false,
      false,
    ]);
    const [idA, , , idBare, , idB] = ids(answer);
    expect(ids(answer)).toEqual([idA, recorded.id, idA, idBare, recorded.id, idB, idB, recorded.id]);
    expect(new Set([idA, idBare, idB, recorded.id]).size).toBe(4);
    // Each item answers the row as it was once it was recorded, as one record after the other would.
    const items = answer.body.data.map((item: { notification: Record<string, unknown> }) => item.notification);
    expect(items[1]).toMatchObject({ idempotencyKey: r, resendEmailId: null });
    expect(items[2]).toMatchObject({ idempotencyKey: a, subject: "Reset your password" });
    expect(items[4]).toMatchObject({ idempotencyKey: r, resendEmailId: e1 });
    expect(items[6]).toMatchObject({ idempotencyKey: b, resendEmailId: e2 });
    expect(items[7]).toMatchObject({ idempotencyKey: r, resendEmailId: e1 });
    expect(await api.db.notification.count({ where: { idempotencyKey: { in: [c, d] } } })).toBe(0);
    expect(await replayJobsFor(e1)).toHaveLength(1);
    expect(await replayJobsFor(e2)).toEqual([]);
    // Every field of a created row, as the single route answers it.
    const alone = await api.call("GET", `/v1/notifications/${idA}`);
    expect(items[0]).toEqual(alone.body);
  });

  it("input: the same batch twice → 201 with every item created, then 200 with every item a repeat of the same rows, in order", async () => {
    const batch = {
      notifications: [notification({ idempotencyKey: unique("again") }), notification({ resendEmailId: randomUUID() })],
    };
    const first = await api.call("POST", "/v1/notifications/batch", batch);
    const second = await api.call("POST", "/v1/notifications/batch", batch);
    expect([first.status, second.status]).toEqual([201, 200]);
    expect(second.body.data.map((item: { created: boolean }) => item.created)).toEqual([false, false]);
    expect(ids(second)).toEqual(ids(first));
  });

  it("input: 12 single records and 4 batches carrying one idempotency key, all at once → one of them created it, every answer is that notification, one row holds the key", async () => {
    const key = unique("race");
    const singles = Array.from({ length: 12 }, (_, i) =>
      api.call("POST", "/v1/notifications", notification({ idempotencyKey: key, subject: `single ${i}` })),
    );
    const batches = Array.from({ length: 4 }, (_, i) =>
      api.call("POST", "/v1/notifications/batch", {
        notifications: [
          notification({ idempotencyKey: unique("other") }),
          notification({ idempotencyKey: key, subject: `batch ${i}` }),
        ],
      }),
    );
    const singleAnswers = await Promise.all(singles);
    const batchAnswers = await Promise.all(batches);
    const forKey = [
      ...singleAnswers.map((answer) => answer.body),
      ...batchAnswers.map((answer) => answer.body.data[1]),
    ] as { created: boolean; notification: { id: string; subject: string } }[];
    expect(forKey.filter((item) => item.created)).toHaveLength(1);
    const winner = forKey.find((item) => item.created)?.notification;
    expect(new Set(forKey.map((item) => item.notification.id))).toEqual(new Set([winner?.id]));
    expect(new Set(forKey.map((item) => item.notification.subject))).toEqual(new Set([winner?.subject]));
    expect(singleAnswers.map((answer) => answer.status).sort()).toEqual(
      singleAnswers.map((answer) => (answer.body.created ? 201 : 200)).sort(),
    );
    expect(batchAnswers.map((answer) => answer.status)).toEqual([201, 201, 201, 201]);
    expect(await api.db.notification.count({ where: { idempotencyKey: key } })).toBe(1);
  });

  it("input: a record, a batch of 2 and an attach (PATCH), each bringing a Resend id nothing is parked for → 201, 201, 200, and no replay job in the inbox", async () => {
    const before = (await replayJobs()).length;
    const emailIds = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    const single = await api.call("POST", "/v1/notifications", notification({ resendEmailId: emailIds[0] }));
    const batch = await api.call("POST", "/v1/notifications/batch", {
      notifications: [notification({ resendEmailId: emailIds[1] }), notification({ resendEmailId: emailIds[2] })],
    });
    const bare = (await api.call("POST", "/v1/notifications", notification())).body.notification;
    const attached = await api.call("PATCH", `/v1/notifications/${bare.id}`, { resendEmailId: emailIds[3] });
    expect([single.status, batch.status, attached.status]).toEqual([201, 201, 200]);
    expect(attached.body.resendEmailId).toBe(emailIds[3]);
    expect(await replayJobs()).toHaveLength(before);
  });

  it("input: metadata and tags in a batch item → answered and stored as given (nested JSON, unicode, numbers); a text with the NUL character → 400, nothing stored", async () => {
    const key = unique("meta");
    const metadata = { order: { id: 42, lines: [1.5, "two", null, true] }, note: "naïve ☃ \\u0000 as text" };
    const answer = await api.call("POST", "/v1/notifications/batch", {
      notifications: [
        notification({
          idempotencyKey: key,
          metadata,
          tags: { flow: "checkout" },
          category: "billing",
          tenant: "acme",
        }),
        notification({ suppressionBypassed: true }),
      ],
    });
    expect(answer.status).toBe(201);
    expect(answer.body.data[0].notification).toMatchObject({
      metadata,
      tags: { flow: "checkout" },
      category: "billing",
      tenant: "acme",
      suppressionBypassed: false,
      sendError: null,
      state: "recorded",
    });
    expect(answer.body.data[1].notification.suppressionBypassed).toBe(true);
    expect((await api.call("GET", `/v1/notifications/${answer.body.data[0].notification.id}`)).body.metadata).toEqual(
      metadata,
    );
    const nul = await api.call("POST", "/v1/notifications/batch", {
      notifications: [notification({ idempotencyKey: unique("nul"), metadata: { note: "a\u0000b" } })],
    });
    expect(nul.status).toBe(400);
  });
});

describe("PATCH /v1/notifications/:id", () => {
  it("attaching a Resend id with an event parked → 200 with it, and a replay of its parked events enqueued", async () => {
    const created = (await api.call("POST", "/v1/notifications", notification())).body.notification;
    const emailId = randomUUID();
    await park(emailId);
    const answer = await api.call("PATCH", `/v1/notifications/${created.id}`, { resendEmailId: emailId });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ id: created.id, resendEmailId: emailId });
    expect(await replayJobsFor(emailId)).toHaveLength(1);
    const again = await api.call("PATCH", `/v1/notifications/${created.id}`, { resendEmailId: emailId });
    expect(again.status).toBe(200);
  });

  it("a second, different Resend id → 409", async () => {
    const created = (await api.call("POST", "/v1/notifications", notification({ resendEmailId: randomUUID() }))).body;
    const answer = await api.call("PATCH", `/v1/notifications/${created.notification.id}`, {
      resendEmailId: randomUUID(),
    });
    expect(answer.status).toBe(409);
    expect(answer.body.detail).toMatch(/already carries another resendEmailId/);
  });

  it("a Resend id another notification carries → 409 naming that notification", async () => {
    const emailId = randomUUID();
    const holder = (await api.call("POST", "/v1/notifications", notification({ resendEmailId: emailId }))).body;
    const other = (await api.call("POST", "/v1/notifications", notification())).body;
    const answer = await api.call("PATCH", `/v1/notifications/${other.notification.id}`, { resendEmailId: emailId });
    expect(answer.status).toBe(409);
    expect(answer.body.detail).toContain(holder.notification.id);
  });

  it("input: { sendError: Resend's 422 } → 200, the notification carries it; attaching an id later clears it; a refusal after that → 409", async () => {
    const created = (await api.call("POST", "/v1/notifications", notification())).body.notification;
    const sendError = { name: "validation_error", message: "Invalid `to` field.", statusCode: 422 };
    const refused = await api.call("PATCH", `/v1/notifications/${created.id}`, { sendError });
    expect(refused.status).toBe(200);
    expect(refused.body).toMatchObject({ resendEmailId: null, state: "recorded", sendError });
    expect(Number.isNaN(Date.parse(refused.body.sendError.at))).toBe(false);
    const emailId = randomUUID();
    const attached = await api.call("PATCH", `/v1/notifications/${created.id}`, { resendEmailId: emailId });
    expect(attached.body).toMatchObject({ resendEmailId: emailId, sendError: null });
    const late = await api.call("PATCH", `/v1/notifications/${created.id}`, { sendError });
    expect(late.status).toBe(409);
    expect(late.body.detail).toMatch(/already went out/);
  });

  it("input: both resendEmailId and sendError, then neither, then sendError without a message → 400 each, naming the problem", async () => {
    const created = (await api.call("POST", "/v1/notifications", notification())).body.notification;
    const both = await api.call("PATCH", `/v1/notifications/${created.id}`, {
      resendEmailId: "re_1",
      sendError: { name: "x", message: "y" },
    });
    expect(both.status).toBe(400);
    expect(both.body.detail).toMatch(/exactly one of resendEmailId .* and sendError/);
    const neither = await api.call("PATCH", `/v1/notifications/${created.id}`, {});
    expect(neither.status).toBe(400);
    const noMessage = await api.call("PATCH", `/v1/notifications/${created.id}`, { sendError: { name: "x" } });
    expect(noMessage.status).toBe(400);
    expect(noMessage.body.errors[0].path).toBe("sendError.message");
    expect((await api.call("GET", `/v1/notifications/${created.id}`)).body.sendError).toBeNull();
  });

  it("an unknown id → 404; an empty resendEmailId → 400 naming it", async () => {
    expect((await api.call("PATCH", `/v1/notifications/${randomUUID()}`, { resendEmailId: "x" })).status).toBe(404);
    const bad = await api.call("PATCH", `/v1/notifications/${randomUUID()}`, { resendEmailId: "" });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toBe("resendEmailId");
  });
});

describe("PATCH /v1/notifications/batch", () => {
  it("input: [fresh (an event parked for its id), repeat of an attached pair, another id for it, unknown id] → 200 with one status per item, replays for the fresh one", async () => {
    const fresh = (await api.call("POST", "/v1/notifications", notification())).body.notification;
    const attachedId = randomUUID();
    const attached = (await api.call("POST", "/v1/notifications", notification({ resendEmailId: attachedId }))).body
      .notification;
    const freshEmailId = randomUUID();
    await park(freshEmailId);
    const unknown = randomUUID();
    const answer = await api.call("PATCH", "/v1/notifications/batch", {
      notifications: [
        { id: fresh.id, resendEmailId: freshEmailId },
        { id: attached.id, resendEmailId: attachedId },
        { id: attached.id, resendEmailId: "re-another" },
        { id: unknown, resendEmailId: "re-nobody" },
      ],
    });
    expect(answer.status).toBe(200);
    expect(answer.body.data).toEqual([
      { id: fresh.id, status: "attached", notification: expect.objectContaining({ resendEmailId: freshEmailId }) },
      { id: attached.id, status: "attached", notification: expect.objectContaining({ resendEmailId: attachedId }) },
      {
        id: attached.id,
        status: "conflict",
        notification: null,
        detail: `notification ${attached.id} already carries another resendEmailId`,
      },
      { id: unknown, status: "not_found", notification: null, detail: `no notification has id ${unknown}` },
    ]);
    expect(await replayJobsFor(freshEmailId)).toHaveLength(1);
    const stored = await api.call("GET", `/v1/notifications/${attached.id}`);
    expect(stored.body.resendEmailId).toBe(attachedId);
  });

  it("input: [a refusal for a fresh notification, a refusal for one already attached] → [refusal_recorded with the error, conflict]", async () => {
    const fresh = (await api.call("POST", "/v1/notifications", notification())).body.notification;
    const sent = (await api.call("POST", "/v1/notifications", notification({ resendEmailId: randomUUID() }))).body
      .notification;
    const sendError = { name: "rate_limit_exceeded", message: "Too many requests", statusCode: 429 };
    const answer = await api.call("PATCH", "/v1/notifications/batch", {
      notifications: [
        { id: fresh.id, sendError },
        { id: sent.id, sendError },
      ],
    });
    expect(answer.body.data).toEqual([
      {
        id: fresh.id,
        status: "refusal_recorded",
        notification: expect.objectContaining({ sendError: { ...sendError, at: expect.any(String) } }),
      },
      {
        id: sent.id,
        status: "conflict",
        notification: null,
        detail: `notification ${sent.id} already went out under another resendEmailId`,
      },
    ]);
  });

  it("input: the same fresh notification given two different ids in one batch → the first attaches, the second is a conflict", async () => {
    const fresh = (await api.call("POST", "/v1/notifications", notification())).body.notification;
    const answer = await api.call("PATCH", "/v1/notifications/batch", {
      notifications: [
        { id: fresh.id, resendEmailId: "re-first" },
        { id: fresh.id, resendEmailId: "re-second" },
      ],
    });
    expect(answer.body.data.map((item: { status: string }) => item.status)).toEqual(["attached", "conflict"]);
  });

  it("input: 101 items → 400 naming notifications; an item without an id → 400 naming notifications.0.id", async () => {
    const many = Array.from({ length: 101 }, () => ({ id: randomUUID(), resendEmailId: "x" }));
    const tooMany = await api.call("PATCH", "/v1/notifications/batch", { notifications: many });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.errors[0].path).toBe("notifications");
    const noId = await api.call("PATCH", "/v1/notifications/batch", { notifications: [{ resendEmailId: "x" }] });
    expect(noId.status).toBe(400);
    expect(noId.body.errors[0].path).toBe("notifications.0.id");
  });
});

describe("GET /v1/notifications/:id", () => {
  it("a recorded id → 200 with its state; an unknown uuid → 404; `nope` → 400 naming id", async () => {
    const created = (await api.call("POST", "/v1/notifications", notification())).body.notification;
    const found = await api.call("GET", `/v1/notifications/${created.id}`);
    expect(found.status).toBe(200);
    expect(found.body).toMatchObject({ id: created.id, state: "recorded" });
    const unknown = await api.call("GET", `/v1/notifications/${randomUUID()}`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.type).toBe("https://mailstate.dev/problems/not-found");
    const bad = await api.call("GET", "/v1/notifications/nope");
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([expect.objectContaining({ location: "params", path: "id" })]);
  });

  it("the timeline of a notification with no events → state recorded, no events, recipients not suppressed", async () => {
    const created = (await api.call("POST", "/v1/notifications", notification({ to: ["x1@acme.test"] }))).body;
    const answer = await api.call("GET", `/v1/notifications/${created.notification.id}/timeline`);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      state: "recorded",
      events: [],
      recipients: [{ email: "x1@acme.test", suppressed: false, reason: null, since: null }],
    });
  });
});

describe("GET /v1/notifications (list)", () => {
  it("filtered by email, limit 2 over 5 → pages of 2, 2, 1 linked by nextCursor, newest first, no repeats", async () => {
    const email = `${randomUUID()}@list.test`;
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      ids.push((await api.call("POST", "/v1/notifications", notification({ to: email }))).body.notification.id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    const sizes: number[] = [];
    do {
      const query: string = `email=${encodeURIComponent(email.toUpperCase())}&limit=2${cursor ? `&cursor=${cursor}` : ""}`;
      const page = await api.call("GET", `/v1/notifications?${query}`);
      expect(page.status).toBe(200);
      sizes.push(page.body.data.length);
      seen.push(...page.body.data.map((row: { id: string }) => row.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(sizes).toEqual([2, 2, 1]);
    expect(seen).toEqual([...ids].reverse());
  });

  it("input: state=sent, limit 2 over 6, and the last row of page 1 turns delivered before page 2 is asked → page 2 still starts right after it (nothing skipped)", async () => {
    const tenant = unique("paging");
    const ids: string[] = [];
    for (let i = 0; i < 6; i += 1) {
      ids.push((await api.call("POST", "/v1/notifications", notification({ tenant }))).body.notification.id);
    }
    await api.db.notification.updateMany({ where: { tenant }, data: { state: "sent" } });
    const newestFirst = [...ids].reverse();
    const first = await api.call("GET", `/v1/notifications?tenant=${tenant}&state=sent&limit=2`);
    expect(first.body.data.map((row: { id: string }) => row.id)).toEqual(newestFirst.slice(0, 2));
    // The worker moves the cursor row on, as a delivered webhook would.
    await api.db.notification.update({ where: { id: first.body.nextCursor }, data: { state: "delivered" } });
    const second = await api.call(
      "GET",
      `/v1/notifications?tenant=${tenant}&state=sent&limit=2&cursor=${first.body.nextCursor}`,
    );
    expect(second.body.data.map((row: { id: string }) => row.id)).toEqual(newestFirst.slice(2, 4));
    const third = await api.call(
      "GET",
      `/v1/notifications?tenant=${tenant}&state=sent&limit=2&cursor=${second.body.nextCursor}`,
    );
    expect(third.body.data.map((row: { id: string }) => row.id)).toEqual(newestFirst.slice(4, 6));
    expect(third.body.nextCursor).toBeNull();
  });

  it("state=delivered&tenant=t-none → 200 with no rows; state=lost → 400 naming state; limit=500 → 400", async () => {
    const empty = await api.call("GET", "/v1/notifications?state=delivered&tenant=t-none");
    expect(empty.body).toEqual({ data: [], nextCursor: null });
    const badState = await api.call("GET", "/v1/notifications?state=lost");
    expect(badState.status).toBe(400);
    expect(badState.body.errors[0]).toMatchObject({ location: "query", path: "state" });
    expect((await api.call("GET", "/v1/notifications?limit=500")).status).toBe(400);
  });

  it("resendEmailId=<id> → exactly that notification", async () => {
    const emailId = randomUUID();
    const created = (await api.call("POST", "/v1/notifications", notification({ resendEmailId: emailId }))).body;
    const page = await api.call("GET", `/v1/notifications?resendEmailId=${emailId}`);
    expect(page.body.data.map((row: { id: string }) => row.id)).toEqual([created.notification.id]);
  });
});

describe("/v1/suppressions", () => {
  it("POST an address → 201 manual; again → 200 with the first row; GET → 200; DELETE → 204; GET → 404", async () => {
    const email = `${randomUUID()}@suppress.test`;
    const added = await api.call("POST", "/v1/suppressions", { email: ` ${email.toUpperCase()} `, note: "asked us" });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ email, reason: "manual", note: "asked us", sourceEventId: null });
    expect((await api.call("POST", "/v1/suppressions", { email })).status).toBe(200);
    const read = await api.call("GET", `/v1/suppressions/${encodeURIComponent(email)}`);
    expect(read).toMatchObject({ status: 200, body: { email, reason: "manual" } });
    expect((await api.call("DELETE", `/v1/suppressions/${encodeURIComponent(email)}`)).status).toBe(204);
    expect((await api.call("GET", `/v1/suppressions/${encodeURIComponent(email)}`)).status).toBe(404);
    expect((await api.call("DELETE", `/v1/suppressions/${encodeURIComponent(email)}`)).status).toBe(404);
  });

  it("POST an address suppressed by a hard bounce → 200 keeping reason hard_bounce", async () => {
    const email = `${randomUUID()}@bounced.test`;
    await suppressions.add(api.db, { email, reason: "hard_bounce", sourceEventId: "msg_1" });
    const answer = await api.call("POST", "/v1/suppressions", { email });
    expect(answer).toMatchObject({ status: 200, body: { reason: "hard_bounce", sourceEventId: "msg_1" } });
  });

  it("check [suppressed, clean, suppressed again in other case] → one status per distinct address, reasons given", async () => {
    const bad = `${randomUUID()}@check.test`;
    const good = `${randomUUID()}@check.test`;
    await suppressions.add(api.db, { email: bad, reason: "complaint" });
    const answer = await api.call("POST", "/v1/suppressions/check", { emails: [bad, good, bad.toUpperCase()] });
    expect(answer.status).toBe(200);
    expect(answer.body.data).toEqual([
      { email: bad, suppressed: true, reason: "complaint", since: expect.any(String) },
      { email: good, suppressed: false, reason: null, since: null },
    ]);
    expect(answer.body.suppressed.map((status: { email: string }) => status.email)).toEqual([bad]);
  });

  it("check with no emails → 400 naming emails; POST without email → 400 naming email", async () => {
    const empty = await api.call("POST", "/v1/suppressions/check", { emails: [] });
    expect(empty.status).toBe(400);
    expect(empty.body.errors[0].path).toBe("emails");
    const missing = await api.call("POST", "/v1/suppressions", {});
    expect(missing.body.errors[0].path).toBe("email");
  });
});

describe("GET /openapi.json", () => {
  it("without a key → 200, an OpenAPI 3.1 document with every /v1 path and the zod-derived schemas", async () => {
    const answer = await api.call("GET", "/openapi.json", undefined, {});
    expect(answer.status).toBe(200);
    expect(answer.body.openapi).toBe("3.1.0");
    expect(Object.keys(answer.body.paths).sort()).toEqual([
      "/v1/notifications",
      "/v1/notifications/batch",
      "/v1/notifications/{id}",
      "/v1/notifications/{id}/cancel",
      "/v1/notifications/{id}/timeline",
      "/v1/recipients/{email}",
      "/v1/reputation",
      "/v1/suppressions",
      "/v1/suppressions/check",
      "/v1/suppressions/{email}",
      "/v1/webhook-endpoints",
      "/v1/webhook-endpoints/{id}",
      "/v1/webhook-endpoints/{id}/rotate-secret",
    ]);
    const record = answer.body.components.schemas.RecordNotification;
    expect(record.required).toEqual(expect.arrayContaining(["to", "from", "subject"]));
    expect(record.properties.to.anyOf).toHaveLength(2);
    expect(answer.body.components.schemas.RecordNotificationBatch.properties.notifications.items).toEqual({
      $ref: "#/components/schemas/RecordNotification",
    });
    expect(answer.body.components.schemas.Notification.properties.state.enum).toContain("bounced");
    expect(Object.keys(answer.body.paths["/v1/notifications/batch"]).sort()).toEqual(["patch", "post"]);
    expect(answer.body.components.schemas.AttachBatchResult.properties.data.items.properties.status.enum).toEqual([
      "attached",
      "refusal_recorded",
      "conflict",
      "not_found",
    ]);
  });

  it("GET /v1/notifications → its query parameters, messageId among them (a string of at most 998 characters)", async () => {
    const { paths } = (await api.call("GET", "/openapi.json", undefined, {})).body;
    const parameters: { name: string; in: string; schema: Record<string, unknown> }[] =
      paths["/v1/notifications"].get.parameters;
    expect(parameters.map((parameter) => `${parameter.in}:${parameter.name}`)).toEqual([
      "query:email",
      "query:resendEmailId",
      "query:messageId",
      "query:state",
      "query:tenant",
      "query:cursor",
      "query:limit",
    ]);
    expect(parameters.find((parameter) => parameter.name === "messageId")?.schema).toMatchObject({
      type: "string",
      maxLength: 998,
      description: expect.stringContaining("with or without its angle brackets"),
    });
  });

  it("every operation describes 401, 403, 404 and 429 (with Retry-After) as problem+json", async () => {
    const { paths } = (await api.call("GET", "/openapi.json", undefined, {})).body;
    const operations = Object.entries(paths).flatMap(([path, item]) =>
      Object.entries(item as Record<string, { responses?: Record<string, { content?: object; headers?: object }> }>)
        .filter(([method]) => method !== "parameters")
        .map(([method, operation]) => ({ name: `${method} ${path}`, responses: operation.responses ?? {} })),
    );
    expect(operations).toHaveLength(19);
    for (const { name, responses } of operations) {
      for (const status of ["401", "403", "404", "429"]) {
        expect([name, status, Object.keys(responses[status]?.content ?? {})]).toEqual([
          name,
          status,
          ["application/problem+json"],
        ]);
      }
      expect([name, Object.keys(responses["429"]?.headers ?? {})]).toEqual([name, ["Retry-After"]]);
    }
  });
});

describe("GET /openapi.json: outbound webhooks", () => {
  it("lists the three messages under `webhooks`, with the Standard Webhooks headers and their schemas", async () => {
    const { webhooks, components } = (await api.call("GET", "/openapi.json", undefined, {})).body;
    expect(Object.keys(webhooks).sort()).toEqual([
      "notification.state_changed",
      "suppression.created",
      "suppression.removed",
    ]);
    const stateChanged = webhooks["notification.state_changed"].post;
    expect(stateChanged.parameters.map((p: { name: string }) => p.name)).toEqual([
      "webhook-id",
      "webhook-timestamp",
      "webhook-signature",
    ]);
    expect(stateChanged.requestBody.content["application/json"].schema).toEqual({
      $ref: "#/components/schemas/NotificationStateChangedMessage",
    });
    const data = components.schemas.NotificationStateChangedMessage.properties.data;
    expect(Object.keys(data.properties).sort()).toEqual(
      ["at", "category", "event", "from", "notificationId", "resendEmailId", "tenant", "to"].sort(),
    );
    expect(data.properties.to.enum).toContain("bounced");
    const suppression = components.schemas.SuppressionChangedMessage.properties;
    expect(suppression.type.enum).toEqual(["suppression.created", "suppression.removed"]);
    expect(suppression.data.required).toEqual(["email", "reason", "at"]);
    expect(components.schemas.CreatedWebhookEndpoint.required).toEqual(["id", "url", "events", "secret"]);
    expect(components.schemas.CreateWebhookEndpoint.properties.events.items.enum).toEqual([
      "notification.state_changed",
      "suppression.created",
      "suppression.removed",
    ]);
  });
});

describe("PostgreSQL unreachable", () => {
  let down: MailstateStack;
  beforeAll(async () => {
    down = await startStack("api_v1_down", mailstateSystem, {
      env: { DATABASE_URL: "postgresql://postgres@127.0.0.1:1/x" },
    });
  });
  afterAll(async () => {
    await down?.close();
  });

  it("POST /v1/notifications and GET a timeline → 503 database_unavailable within 6 s, with Retry-After", async () => {
    const started = Date.now();
    const recorded = await down.call("POST", "/v1/notifications", notification());
    expect(recorded.status).toBe(503);
    expect(recorded.body.type).toBe("https://mailstate.dev/problems/database-unavailable");
    const timeline = await down.call("GET", `/v1/notifications/${randomUUID()}/timeline`);
    expect(timeline.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(6_000);
    const raw = await fetch(`${down.baseUrl}/v1/suppressions/check`, {
      method: "POST",
      headers: { authorization: `Bearer ${down.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ emails: ["a@b.test"] }),
    });
    expect(raw.status).toBe(503);
    expect(raw.headers.get("retry-after")).toBe("5");
  });
});
