// The notification tables and the event log, through the functions production calls: recording and
// attaching Resend's ids, the projection the worker writes, delivery events appended and adopted once,
// opens and clicks in engagement_events.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Db,
  engagement,
  events,
  notificationMatching,
  notificationProjections,
  notificationReads,
  notificationRecords,
  restorePayload,
  type SqlPool,
  writeTogether,
} from "./index.ts";
import { at, openTestClients, type TestClients } from "./test-clients.ts";

let db: Db;
let sql: SqlPool;
let inTransaction: TestClients["inTransaction"];
let record: TestClients["record"];
let close: () => Promise<void>;

beforeAll(async () => {
  ({ db, sql, inTransaction, record, close } = await openTestClients("db_notifications"));
});
afterAll(() => close?.());

describe("the tables, through the functions production calls", () => {
  it("notifications: record, find by id and email id, idempotent on key, Resend id attached once", async () => {
    const input = {
      recipients: ["ada@example.com", "bob@example.com"],
      from: "Acme <hello@acme.test>",
      subject: "Welcome",
      tenant: "acme",
      tags: { flow: "welcome" },
      category: "onboarding",
      metadata: { userId: 42 },
      idempotencyKey: "welcome-42",
    };
    const first = await notificationRecords.record(sql, input);
    expect(first.created).toBe(true);
    expect(first.notification).toMatchObject({ ...input, state: "recorded", resendEmailId: null });

    const again = await notificationRecords.record(sql, { ...input, subject: "changed" });
    expect(again).toEqual({ notification: first.notification, created: false, attached: false });

    const id = first.notification.id;
    const [attached] = await notificationRecords.applySendOutcomes(sql, [{ id, resendEmailId: "re_1" }]);
    expect(attached).toMatchObject({ kind: "applied", notification: { id, resendEmailId: "re_1" } });
    expect(
      await notificationRecords.applySendOutcomes(sql, [
        { id, resendEmailId: "re_1" },
        { id, resendEmailId: "re_other" },
        { id: "00000000-0000-0000-0000-000000000000", resendEmailId: "re_2" },
        { id, sendError: { name: "late", message: "an earlier attempt failed" } },
      ]),
    ).toMatchObject([
      { kind: "applied", notification: { id } },
      { kind: "conflict" },
      { kind: "not_found" },
      { kind: "conflict" },
    ]);
    expect((await notificationReads.findByResendEmailId(db, "re_1"))?.id).toBe(id);

    const byResendId = await notificationRecords.record(sql, { ...input, idempotencyKey: null, resendEmailId: "re_1" });
    expect(byResendId.created).toBe(false);

    const page = await notificationReads.list(db, { email: "bob@example.com", limit: 10 });
    expect(page.map((row) => row.id)).toEqual([id]);
  });

  it("input: 20 attaches of one (notification, Resend id) at once, as retried requests would → every one answers the notification, none a conflict", async () => {
    const notification = await record(["r@example.com"]);
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        notificationRecords.applySendOutcomes(sql, [{ id: notification.id, resendEmailId: "re_retried" }]),
      ),
    );
    expect(
      results.map(([result]) => (result?.kind === "applied" ? result.notification.resendEmailId : result?.kind)),
    ).toEqual(Array(20).fill("re_retried"));
    const [other] = await notificationRecords.applySendOutcomes(sql, [
      { id: notification.id, resendEmailId: "re_other" },
    ]);
    expect(other).toEqual({ kind: "conflict" });
  });

  it("notifications: the worker attaches an email id a tagged event reveals only where none is set and no other notification carries it", async () => {
    const bare = await record(["tag1@example.com"]);
    const carrying = await record(["tag2@example.com"], "re_taken");
    const attached = await inTransaction((client) =>
      notificationMatching.attachEmailIds(client, [
        { id: bare.id, emailId: "re_revealed" },
        { id: carrying.id, emailId: "re_second" },
      ]),
    );
    expect(attached).toEqual(new Map([["re_revealed", bare.id]]));
    const clash = await record(["tag3@example.com"]);
    expect(
      await inTransaction((client) =>
        notificationMatching.attachEmailIds(client, [{ id: clash.id, emailId: "re_taken" }]),
      ),
    ).toEqual(new Map());
    expect(await notificationMatching.carrying(sql, ["re_revealed", "re_taken", "re_nobody"])).toEqual(
      expect.arrayContaining(["re_revealed", "re_taken"]),
    );
  });

  it("notifications: the projection the worker writes is what the API reads back, and what the lock reads", async () => {
    const notification = await record(["c@example.com"]);
    const projection = {
      state: "delivered" as const,
      stateChangedAt: new Date("2026-11-22T10:00:00.123Z"),
      stateEventType: "email.delivered",
      stateEventId: "msg_1",
      openCount: 2,
      clickCount: 1,
      firstOpenedAt: at(5),
      firstClickedAt: null,
    };
    await inTransaction((client) =>
      notificationProjections.saveProjections(client, new Map([[notification.id, projection]])),
    );
    expect(await notificationReads.findById(db, notification.id)).toMatchObject(projection);
    expect(
      await inTransaction((client) => notificationProjections.lockedProjection(client, notification.id, "share")),
    ).toEqual(projection);
    // The worker reads the stored counters with the lock it takes, by id or by email id.
    const counters = { openCount: 2, clickCount: 1, firstOpenedAt: at(5), firstClickedAt: null };
    expect(await inTransaction((client) => notificationMatching.lockMatches(client, [], [notification.id]))).toEqual([
      { id: notification.id, emailId: notification.resendEmailId, counters },
    ]);
  });

  it("delivery events: appended once per svix-id with the raw payload as jsonb, adopted once its email id is carried", async () => {
    const payload = { type: "email.sent", created_at: "2026-11-22T10:00:00.000Z", data: { email_id: "re_events" } };
    const row = {
      svixId: "msg_append_1",
      type: "email.sent",
      occurredAt: at(0),
      receivedAt: at(1),
      emailId: "re_events",
      payload,
      notificationId: null,
      status: "unmatched" as const,
      ownTime: true,
    };
    const none = { emailIds: [], notificationIds: [] };
    const first = await inTransaction((client) => events.appendAndAdopt(client, [row], none));
    const redelivered = await inTransaction((client) => events.appendAndAdopt(client, [row], none));
    expect([...first.inserted]).toEqual(["msg_append_1"]);
    expect([...redelivered.inserted]).toEqual([]);
    expect(await events.findBySvixId(db, "msg_append_1")).toMatchObject({
      type: "email.sent",
      status: "unmatched",
      payload,
    });
    expect(await events.countByStatus(db, "unmatched")).toBe(1);
    expect(await events.hasUnmatched(sql, "re_events")).toBe(true);

    const notification = await record(["d@example.com"], "re_events");
    const matched = { emailIds: ["re_events"], notificationIds: [notification.id] };
    const adopted = await inTransaction((client) => events.appendAndAdopt(client, [], matched));
    const sentProjection = {
      state: "sent" as const,
      stateChangedAt: at(0),
      stateEventType: "email.sent",
      stateEventId: "msg_append_1",
      openCount: 0,
      clickCount: 0,
      firstOpenedAt: null,
      firstClickedAt: null,
    };
    // What the worker's projection update keeps of the event it applied: the notification's first event time.
    await inTransaction((client) =>
      writeTogether(client, [
        notificationProjections.projectionUpdate(new Map([[notification.id, sentProjection]]), {
          firstEventAt: new Map([[notification.id, at(0)]]),
        }),
      ]),
    );
    const again = await inTransaction((client) => events.appendAndAdopt(client, [], matched));
    expect(adopted.adopted).toEqual([{ svixId: "msg_append_1", payload, notificationId: notification.id }]);
    expect(adopted.applied).toEqual([]);
    expect(again.adopted).toEqual([]);
    expect(again.applied).toEqual([{ svixId: "msg_append_1", notificationId: notification.id }]);
    expect(await events.hasUnmatched(sql, "re_events")).toBe(false);
    const logged = await events.listForNotification(db, notification.id);
    expect(logged.map((stored) => [stored.svixId, stored.status])).toEqual([["msg_append_1", "applied"]]);
  });

  it("engagement: an applied open or click goes to engagement_events only (link, user agent, ip from its body), once per svix-id", async () => {
    const notification = await record(["e@example.com"], "re_click");
    const body = {
      type: "email.clicked",
      created_at: "2026-11-22T10:00:05.000Z",
      data: {
        email_id: "re_click",
        click: { link: "https://acme.test/welcome", userAgent: "Mozilla/5.0", ipAddress: "203.0.113.7" },
      },
    };
    const row = {
      svixId: "msg_click_1",
      type: "email.clicked",
      occurredAt: at(5),
      ownTime: true,
      receivedAt: at(6),
      emailId: "re_click",
      payload: body,
      notificationId: notification.id,
      status: "applied" as const,
    };
    const none = { emailIds: [], notificationIds: [] };
    const first = await inTransaction((client) => events.appendAndAdopt(client, [row], none));
    // Redelivered with another link: the first copy stays, and it is not new.
    const again = await inTransaction((client) =>
      events.appendAndAdopt(
        client,
        [{ ...row, payload: { ...body, data: { ...body.data, click: { link: "x" } } } }],
        none,
      ),
    );
    expect([...first.inserted]).toEqual(["msg_click_1"]);
    expect([...again.inserted]).toEqual([]);
    expect(await engagement.listForNotification(db, notification.id)).toMatchObject([
      {
        svixId: "msg_click_1",
        kind: "clicked",
        occurredAt: at(5),
        link: "https://acme.test/welcome",
        userAgent: "Mozilla/5.0",
        ipAddress: "203.0.113.7",
      },
    ]);
    expect(await events.findBySvixId(db, "msg_click_1")).toBeNull();
  });

  it("engagement: a parked click moves to engagement_events when its email id is carried, and is answered whole", async () => {
    const body = {
      type: "email.clicked",
      created_at: "2026-11-22T10:00:07.000Z",
      data: { email_id: "re_parked_click", to: ["p@example.com"], click: { link: "https://acme.test/p" } },
    };
    const parked = {
      svixId: "msg_parked_click",
      type: "email.clicked",
      occurredAt: at(7),
      ownTime: true,
      receivedAt: at(8),
      emailId: "re_parked_click",
      payload: body,
      notificationId: null,
      status: "unmatched" as const,
    };
    await inTransaction((client) => events.appendAndAdopt(client, [parked], { emailIds: [], notificationIds: [] }));
    const notification = await record(["p@example.com"], "re_parked_click");
    const matched = { emailIds: ["re_parked_click"], notificationIds: [notification.id] };
    const adopted = await inTransaction((client) => events.appendAndAdopt(client, [], matched));
    expect(adopted.adopted).toEqual([{ svixId: "msg_parked_click", payload: body, notificationId: notification.id }]);
    expect(await events.findBySvixId(db, "msg_parked_click")).toBeNull();
    expect(await engagement.listForNotification(db, notification.id)).toMatchObject([
      { svixId: "msg_parked_click", kind: "clicked", link: "https://acme.test/p" },
    ]);
    // Adopted once: a second statement finds nothing parked.
    expect((await inTransaction((client) => events.appendAndAdopt(client, [], matched))).adopted).toEqual([]);
  });

  it("delivery events: an applied one is stored without what its columns and notification hold, and read back whole", async () => {
    const notification = await record(["r@example.com"], "re_compact");
    const body = {
      type: "email.bounced",
      created_at: "2026-11-22T10:00:09.123456+00:00",
      data: {
        email_id: "re_compact",
        created_at: "2026-11-22T10:00:00.000Z",
        from: "Acme <a@acme.test>",
        to: ["r@example.com"],
        subject: "Hello",
        tags: { category: "welcome" },
        bounce: { type: "Permanent", subType: "General", message: "no such user" },
      },
    };
    const row = {
      svixId: "msg_compact",
      type: "email.bounced",
      occurredAt: at(9),
      ownTime: true,
      receivedAt: at(10),
      emailId: "re_compact",
      payload: body,
      notificationId: notification.id,
      status: "applied" as const,
    };
    await inTransaction((client) => events.appendAndAdopt(client, [row], { emailIds: [], notificationIds: [] }));
    const stored = await events.findBySvixId(db, "msg_compact");
    expect(stored?.payload).toEqual({ created_at: body.created_at, data: { bounce: body.data.bounce } });
    const about = {
      emailId: "re_compact",
      from: notification.from,
      recipients: notification.recipients,
      subject: notification.subject,
      messageId: null,
    };
    expect(stored && restorePayload(stored, about)).toEqual({
      ...body,
      // data.created_at (when the email was created) is not kept: the event's own time stands for it.
      data: {
        ...body.data,
        created_at: body.created_at,
        from: notification.from,
        subject: notification.subject,
        tags: undefined,
      },
    });
    expect((await events.payloadsOf(sql, ["msg_compact"])).get("msg_compact")).toMatchObject({
      type: "email.bounced",
      created_at: body.created_at,
      data: { email_id: "re_compact", bounce: body.data.bounce },
    });
  });
});
