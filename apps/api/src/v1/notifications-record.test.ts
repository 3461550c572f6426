// POST /v1/notifications and /v1/notifications/batch against the real app, PostgreSQL (a database of
// its own) and Redis (a prefix of its own): validation, idempotency keys, repeats and races, and a
// replay enqueued only where events are parked.
import { randomUUID } from "node:crypto";
import { startStack } from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MailstateStack, mailstateSystem } from "../../test/testing.ts";
import { notification, park, replayJobs, replayJobsFor, unique } from "./notification-fixtures.ts";

let api: MailstateStack;
beforeAll(async () => {
  api = await startStack("api_v1_record", mailstateSystem);
});
afterAll(async () => {
  await api?.close();
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
    await park(api, emailId);
    const first = await api.call("POST", "/v1/notifications", notification({ resendEmailId: emailId }));
    const second = await api.call("POST", "/v1/notifications", notification({ resendEmailId: emailId }));
    expect([first.status, second.status]).toEqual([201, 200]);
    expect(second.body.notification.id).toBe(first.body.notification.id);
    expect(await replayJobsFor(api, emailId)).toHaveLength(1);
  });

  it("input: a key recorded without an id, then the same key with Resend's id (an event parked for it) → 200, the same notification now carrying it, one replay", async () => {
    const key = unique("key");
    const emailId = randomUUID();
    const first = await api.call("POST", "/v1/notifications", notification({ idempotencyKey: key }));
    await park(api, emailId);
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
    expect(await replayJobsFor(api, emailId)).toHaveLength(1);
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
    for (const emailId of emailIds) await park(api, emailId);
    const answer = await api.call("POST", "/v1/notifications/batch", {
      notifications: [...emailIds, emailIds[0]].map((resendEmailId) => notification({ resendEmailId })),
    });
    expect(answer.status).toBe(201);
    expect(answer.body.data.map((item: { created: boolean }) => item.created)).toEqual([true, true, true, false]);
    for (const emailId of emailIds) expect(await replayJobsFor(api, emailId)).toHaveLength(1);
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
    await park(api, e1);
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
    expect(await replayJobsFor(api, e1)).toHaveLength(1);
    expect(await replayJobsFor(api, e2)).toEqual([]);
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
    const before = (await replayJobs(api)).length;
    const emailIds = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    const single = await api.call("POST", "/v1/notifications", notification({ resendEmailId: emailIds[0] }));
    const batch = await api.call("POST", "/v1/notifications/batch", {
      notifications: [notification({ resendEmailId: emailIds[1] }), notification({ resendEmailId: emailIds[2] })],
    });
    const bare = (await api.call("POST", "/v1/notifications", notification())).body.notification;
    const attached = await api.call("PATCH", `/v1/notifications/${bare.id}`, { resendEmailId: emailIds[3] });
    expect([single.status, batch.status, attached.status]).toEqual([201, 201, 200]);
    expect(attached.body.resendEmailId).toBe(emailIds[3]);
    expect(await replayJobs(api)).toHaveLength(before);
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
