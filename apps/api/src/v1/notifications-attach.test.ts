// PATCH /v1/notifications/:id and /v1/notifications/batch against the real app, PostgreSQL and Redis:
// Resend's id attached once (a replay of what is parked for it), conflicts, and send errors recorded.
import { randomUUID } from "node:crypto";
import { startStack } from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MailstateStack, mailstateSystem } from "../../test/testing.ts";
import { notification, park, replayJobsFor } from "./notification-fixtures.ts";

let api: MailstateStack;
beforeAll(async () => {
  api = await startStack("api_v1_attach", mailstateSystem);
});
afterAll(async () => {
  await api?.close();
});

describe("PATCH /v1/notifications/:id", () => {
  it("attaching a Resend id with an event parked → 200 with it, and a replay of its parked events enqueued", async () => {
    const created = (await api.call("POST", "/v1/notifications", notification())).body.notification;
    const emailId = randomUUID();
    await park(api, emailId);
    const answer = await api.call("PATCH", `/v1/notifications/${created.id}`, { resendEmailId: emailId });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ id: created.id, resendEmailId: emailId });
    expect(await replayJobsFor(api, emailId)).toHaveLength(1);
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
    await park(api, freshEmailId);
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
    expect(await replayJobsFor(api, freshEmailId)).toHaveLength(1);
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
