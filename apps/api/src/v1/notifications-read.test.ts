// GET /v1/notifications/:id, its timeline, and the list with its filters and cursor, against the real
// app, PostgreSQL and Redis.
import { randomUUID } from "node:crypto";
import { startStack } from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MailstateStack, mailstateSystem } from "../../test/testing.ts";
import { notification, unique } from "./notification-fixtures.ts";

let api: MailstateStack;
beforeAll(async () => {
  api = await startStack("api_v1_read", mailstateSystem);
});
afterAll(async () => {
  await api?.close();
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
