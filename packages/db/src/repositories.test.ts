import type { AddressInfo } from "node:net";
import { createServer } from "node:net";
import { createTestDatabase, type TestDatabase, waitUntil } from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  apiKeys,
  auditLog,
  createDb,
  createSqlPool,
  type Db,
  engagement,
  events,
  GLOBAL_VIEW,
  hashApiKey,
  isDatabaseUnavailable,
  notifications,
  pingDb,
  restorePayload,
  type SqlClient,
  type SqlPool,
  softBounces,
  suppressions,
  withSqlTransaction,
  writeTogether,
} from "./index.ts";

let database: TestDatabase;
let db: Db;
/** The worker's pool: the tables' batched writes run on it, as in production. */
let sql: SqlPool;

beforeAll(async () => {
  database = await createTestDatabase("repos");
  db = createDb({ databaseUrl: database.url, poolSize: 4 });
  sql = createSqlPool({ databaseUrl: database.url, poolSize: 2 });
});

afterAll(async () => {
  await db.$disconnect();
  await sql.end();
  await database.drop();
});

describe("the migration", () => {
  it("applies to an empty database: every table and view exists", async () => {
    const views = await db.$queryRaw<{ table_name: string }[]>`
      SELECT table_name FROM information_schema.views WHERE table_schema = 'public' ORDER BY table_name`;
    expect(views.map((row) => row.table_name)).toEqual(["event_log"]);
    const rows = await db.$queryRaw<{ table_name: string }[]>`
      SELECT table_name FROM information_schema.tables AS t
       WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
         -- the partitions of the event log's tables are theirs, not tables of their own
         AND NOT EXISTS (SELECT 1 FROM pg_class AS c WHERE c.relname = t.table_name AND c.relispartition)
       ORDER BY table_name`;
    expect(rows.map((row) => row.table_name)).toEqual([
      "_prisma_migrations",
      "api_keys",
      "audit_log",
      "dead_letters",
      "delivery_events",
      "engagement_events",
      "erased_emails",
      "notifications",
      "outbound_messages",
      "reputation_hourly",
      "resend_imports",
      "soft_bounce_counters",
      "suppressions",
      "webhook_endpoints",
    ]);
  });
});

describe("the tables, through the functions production calls", () => {
  const at = (second: number) => new Date(`2026-11-22T10:00:${String(second).padStart(2, "0")}.000Z`);
  const inTransaction = <T>(fn: (client: SqlClient) => Promise<T>) => withSqlTransaction(sql, fn);
  const record = async (recipients: string[], resendEmailId: string | null = null) =>
    (await notifications.record(sql, { recipients, from: "a@acme.test", subject: "s", resendEmailId })).notification;

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
    const first = await notifications.record(sql, input);
    expect(first.created).toBe(true);
    expect(first.notification).toMatchObject({ ...input, state: "recorded", resendEmailId: null });

    const again = await notifications.record(sql, { ...input, subject: "changed" });
    expect(again).toEqual({ notification: first.notification, created: false, attached: false });

    const id = first.notification.id;
    const [attached] = await notifications.applySendOutcomes(sql, [{ id, resendEmailId: "re_1" }]);
    expect(attached).toMatchObject({ kind: "applied", notification: { id, resendEmailId: "re_1" } });
    expect(
      await notifications.applySendOutcomes(sql, [
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
    expect((await notifications.findByResendEmailId(db, "re_1"))?.id).toBe(id);

    const byResendId = await notifications.record(sql, { ...input, idempotencyKey: null, resendEmailId: "re_1" });
    expect(byResendId.created).toBe(false);

    const page = await notifications.list(db, { email: "bob@example.com", limit: 10 });
    expect(page.map((row) => row.id)).toEqual([id]);
  });

  it("input: 20 attaches of one (notification, Resend id) at once, as retried requests would → every one answers the notification, none a conflict", async () => {
    const notification = await record(["r@example.com"]);
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        notifications.applySendOutcomes(sql, [{ id: notification.id, resendEmailId: "re_retried" }]),
      ),
    );
    expect(
      results.map(([result]) => (result?.kind === "applied" ? result.notification.resendEmailId : result?.kind)),
    ).toEqual(Array(20).fill("re_retried"));
    const [other] = await notifications.applySendOutcomes(sql, [{ id: notification.id, resendEmailId: "re_other" }]);
    expect(other).toEqual({ kind: "conflict" });
  });

  it("notifications: the worker attaches an email id a tagged event reveals only where none is set and no other notification carries it", async () => {
    const bare = await record(["tag1@example.com"]);
    const carrying = await record(["tag2@example.com"], "re_taken");
    const attached = await inTransaction((client) =>
      notifications.attachEmailIds(client, [
        { id: bare.id, emailId: "re_revealed" },
        { id: carrying.id, emailId: "re_second" },
      ]),
    );
    expect(attached).toEqual(new Map([["re_revealed", bare.id]]));
    const clash = await record(["tag3@example.com"]);
    expect(
      await inTransaction((client) => notifications.attachEmailIds(client, [{ id: clash.id, emailId: "re_taken" }])),
    ).toEqual(new Map());
    expect(await notifications.carrying(sql, ["re_revealed", "re_taken", "re_nobody"])).toEqual(
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
    await inTransaction((client) => notifications.saveProjections(client, new Map([[notification.id, projection]])));
    expect(await notifications.findById(db, notification.id)).toMatchObject(projection);
    expect(await inTransaction((client) => notifications.lockedProjection(client, notification.id, "share"))).toEqual(
      projection,
    );
    // The worker reads the stored counters with the lock it takes, by id or by email id.
    const counters = { openCount: 2, clickCount: 1, firstOpenedAt: at(5), firstClickedAt: null };
    expect(await inTransaction((client) => notifications.lockMatches(client, [], [notification.id]))).toEqual([
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
        notifications.projectionUpdate(new Map([[notification.id, sentProjection]]), {
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

  it("suppressions: one row per address whoever adds it (worker or API), first reason wins, expiry honoured, removable", async () => {
    const fromEvent = {
      email: "f@example.com",
      reason: "hard_bounce" as const,
      sourceEventId: "msg_b",
      metadata: { eventType: "email.bounced" },
    };
    expect(await inTransaction((client) => suppressions.add(client, fromEvent))).toBe(true);
    expect(await suppressions.add(db, { email: "f@example.com", reason: "manual", metadata: null })).toBe(false);
    expect(await suppressions.find(db, "f@example.com")).toMatchObject({
      reason: "hard_bounce",
      sourceEventId: "msg_b",
      metadata: { eventType: "email.bounced" },
    });

    expect(
      await suppressions.add(db, { email: "g@example.com", reason: "manual", expiresAt: new Date(Date.now() - 1_000) }),
    ).toBe(true);
    expect(await suppressions.find(db, "g@example.com")).toBeNull();
    expect((await suppressions.findMany(db, ["f@example.com", "g@example.com"])).map((row) => row.email)).toEqual([
      "f@example.com",
    ]);
    expect(await suppressions.add(db, { email: "m@example.com", reason: "manual", metadata: { note: "asked" } })).toBe(
      true,
    );
    expect(await suppressions.find(db, "m@example.com")).toMatchObject({
      reason: "manual",
      sourceEventId: null,
      metadata: { note: "asked" },
    });

    expect(await suppressions.remove(db, "f@example.com")).toBe(true);
    expect(await suppressions.find(db, "f@example.com")).toBeNull();
    expect(await suppressions.remove(db, "f@example.com")).toBe(false);
  });

  it("soft-bounce counters: counted in a row; a delivery ends the run and keeps its time, so a later webhook of an older bounce is not counted", async () => {
    const email = "h@example.com";
    const count = (svixId: string, second: number) =>
      inTransaction((client) => softBounces.count(client, { email, tenant: null }, svixId, at(second)));
    const reset = (second: number) =>
      inTransaction((client) => softBounces.reset(client, [{ email, tenant: null, at: at(second) }]));
    expect(await count("msg_s1", 1)).toBe(1);
    expect(await count("msg_s2", 2)).toBe(2);
    expect(await softBounces.find(db, email)).toMatchObject({ count: 2, lastEventId: "msg_s2", lastBounceAt: at(2) });

    await reset(10);
    expect(await softBounces.find(db, email)).toMatchObject({ count: 0, lastDeliveredAt: at(10) });
    expect(await count("msg_s_old", 5)).toBe(0); // older than the delivery: not in the run
    expect(await softBounces.find(db, email)).toMatchObject({
      count: 0,
      lastEventId: "msg_s2",
      lastDeliveredAt: at(10),
    });

    expect(await count("msg_s3", 20)).toBe(1);
    await reset(15); // a late webhook of an earlier delivery leaves the newer run alone
    expect(await softBounces.find(db, email)).toMatchObject({ count: 1, lastDeliveredAt: at(15) });
    expect((await softBounces.countsOf(db, [email, "nobody@example.com"])).map((row) => row.email)).toEqual([email]);
  });

  it("soft-bounce counters: taking an address off the list ends its run by the delivery's rule, so a bounce from before the removal is not counted", async () => {
    const email = "i@example.com";
    const count = (svixId: string, second: number) =>
      inTransaction((client) => softBounces.count(client, { email, tenant: null }, svixId, at(second)));
    expect([await count("msg_i1", 40), await count("msg_i2", 41), await count("msg_i3", 42)]).toEqual([1, 2, 3]);
    await inTransaction((client) =>
      suppressions.add(client, { email, reason: "soft_bounce_threshold", sourceEventId: "msg_i3", metadata: {} }),
    );
    expect(await suppressions.remove(db, email, GLOBAL_VIEW, at(50))).toBe(true);
    expect(await softBounces.find(db, email)).toMatchObject({
      count: 0,
      lastEventId: "msg_i3",
      lastDeliveredAt: at(50),
    });
    expect(await count("msg_i_late", 45)).toBe(0);
    expect(await count("msg_i4", 58)).toBe(1);
  });

  it("suppression lists: in tenant scope a tenant's row counts for that tenant only, the null list for everyone; in global scope every row counts", async () => {
    const email = "lists@example.com";
    const view = (tenant: string | null) => ({ scope: "tenant" as const, tenant });
    expect(await suppressions.add(db, { email, tenant: "acme", reason: "hard_bounce" })).toBe(true);
    // The same list again is a no-op; another list is another row.
    expect(await suppressions.add(db, { email, tenant: "acme", reason: "manual" })).toBe(false);
    expect(await suppressions.find(db, email, view("acme"))).toMatchObject({ tenant: "acme", reason: "hard_bounce" });
    expect(await suppressions.find(db, email, view("globex"))).toBeNull();
    expect(await suppressions.find(db, email, view(null))).toBeNull();
    expect(await suppressions.find(db, email, GLOBAL_VIEW)).toMatchObject({ tenant: "acme" });

    expect(await suppressions.add(db, { email, tenant: null, reason: "complaint" })).toBe(true);
    expect(await suppressions.add(db, { email, tenant: null, reason: "manual" })).toBe(false);
    expect(await suppressions.find(db, email, view("globex"))).toMatchObject({ tenant: null, reason: "complaint" });
    // A tenant's own row is answered before the null list's.
    expect(await suppressions.find(db, email, view("acme"))).toMatchObject({ tenant: "acme" });
    expect((await suppressions.findMany(db, [email], view("acme"))).map((row) => row.tenant)).toEqual(["acme"]);

    // Removal in tenant scope takes the address off the view's own list only.
    expect(await suppressions.remove(db, email, view("globex"))).toBe(false);
    expect(await suppressions.remove(db, email, view("acme"))).toBe(true);
    expect(await suppressions.find(db, email, view("acme"))).toMatchObject({ tenant: null });
    // In global scope it comes off every list, since every list counts there.
    await suppressions.add(db, { email, tenant: "acme", reason: "hard_bounce" });
    expect(await suppressions.remove(db, email, GLOBAL_VIEW)).toBe(true);
    expect(await suppressions.find(db, email, GLOBAL_VIEW)).toBeNull();
  });

  it("soft-bounce runs are per list: acme's bounces do not count toward globex's run", async () => {
    const email = "runs@example.com";
    const count = (tenant: string | null, svixId: string, second: number) =>
      inTransaction((client) => softBounces.count(client, { email, tenant }, svixId, at(second)));
    expect([
      await count("acme", "msg_r1", 1),
      await count("acme", "msg_r2", 2),
      await count("globex", "msg_r3", 3),
    ]).toEqual([1, 2, 1]);
    await inTransaction((client) => softBounces.reset(client, [{ email, tenant: "acme", at: at(4) }]));
    expect(await softBounces.find(db, email, "acme")).toMatchObject({ count: 0 });
    expect(await softBounces.find(db, email, "globex")).toMatchObject({ count: 1 });
    expect(await softBounces.find(db, email)).toBeNull();
  });

  it("api keys: stored as their SHA-256 only, found by it, revoked once; audit entries read by the lists' rule", async () => {
    const { row, key } = await apiKeys.create(db, { tenant: "acme", name: "billing" });
    expect(key).toMatch(/^msk_[A-Za-z0-9_-]{43}$/);
    const stored = await db.$queryRaw<{ key_hash: string }[]>`SELECT key_hash FROM api_keys WHERE id = ${row.id}::uuid`;
    expect(stored).toEqual([{ key_hash: hashApiKey(key) }]);
    expect(JSON.stringify(await db.$queryRaw`SELECT * FROM api_keys`)).not.toContain(key);
    expect(await apiKeys.findByHash(db, hashApiKey(key))).toMatchObject({
      id: row.id,
      tenant: "acme",
      revokedAt: null,
    });
    expect(await apiKeys.findByHash(db, hashApiKey(`${key}x`))).toBeNull();

    expect(await apiKeys.touch(db, [row.id], 60_000)).toBe(1);
    expect(await apiKeys.touch(db, [row.id], 60_000)).toBe(0); // within the minute: no second write
    const revoked = await apiKeys.revoke(db, row.id);
    expect(revoked?.revokedAt).toBeInstanceOf(Date);
    expect((await apiKeys.revoke(db, row.id))?.revokedAt).toEqual(revoked?.revokedAt);
    expect(await apiKeys.revoke(db, "00000000-0000-4000-8000-000000000000")).toBeNull();

    const actor = { keyId: row.id, label: "billing" };
    await auditLog.record(db, { action: "suppression.added", actor, tenant: "acme", email: "audit@example.com" });
    await auditLog.record(db, { action: "suppression.added", actor, tenant: null, email: "audit@example.com" });
    const seen = (tenant: string | null) =>
      auditLog
        .forAddresses(db, ["audit@example.com"], { scope: "tenant", tenant })
        .then((rows) => rows.map((entry) => entry.tenant));
    expect(await seen("acme")).toEqual([null, "acme"]);
    expect(await seen("globex")).toEqual([null]);
  });
});

describe("a database that is down", () => {
  it("input: the connection is killed between two queries of a transaction → the transaction rejects, the process lives, the pool serves again", async () => {
    const sql = createSqlPool({ databaseUrl: database.url, poolSize: 1 });
    const admin = createSqlPool({ databaseUrl: database.url, poolSize: 1 });
    try {
      const attempt = withSqlTransaction(sql, async (client) => {
        const { rows } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
        // The server ends this backend while no query is in flight: what a restart does to a worker
        // that is folding events between two statements. Once the backend is gone its goodbye is on
        // the socket; a moment later the client has read it, with no query to hand it to.
        await admin.query("SELECT pg_terminate_backend($1)", [rows[0]?.pid]);
        await waitUntil(
          `backend ${rows[0]?.pid} to leave pg_stat_activity`,
          async () => !(await admin.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [rows[0]?.pid])).rowCount,
          10_000,
          { intervalMs: 10 },
        );
        await new Promise((resolve) => setTimeout(resolve, 100));
        return client.query("SELECT 1");
      });
      await expect(attempt).rejects.toThrow(/terminat|not queryable|Connection terminated/i);
      // The broken client was destroyed, not handed back: the next transaction gets a fresh one.
      const { rows } = await withSqlTransaction(sql, (client) => client.query<{ one: number }>("SELECT 1 AS one"));
      expect(rows).toEqual([{ one: 1 }]);
    } finally {
      await Promise.all([sql.end(), admin.end()]);
    }
  });

  it("input: a server that accepts the connection and never answers (a stalled network) → pingDb answers false within its 1 s bound", async () => {
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as AddressInfo;
    const stalled = createDb({ databaseUrl: `postgresql://postgres@127.0.0.1:${port}/nothing` });
    try {
      const started = performance.now();
      expect(await pingDb(stalled)).toBe(false);
      expect(performance.now() - started).toBeLessThan(3_000);
    } finally {
      silent.close();
      await stalled.$disconnect().catch(() => {});
    }
  });

  it("input: a statement over the statement timeout (pg_sleep past 200 ms) → cancelled, and counted as the database being unavailable (503), on both clients", async () => {
    const slowDb = createDb({ databaseUrl: database.url, statementTimeoutMs: 200 });
    const slowSql = createSqlPool({ databaseUrl: database.url, statementTimeoutMs: 200 });
    try {
      const viaPrisma = await slowDb.$queryRaw`SELECT pg_sleep(2)`.catch((error: unknown) => error);
      const viaPg = await slowSql.query("SELECT pg_sleep(2)").catch((error: unknown) => error);
      expect(String(viaPrisma)).toMatch(/statement timeout/);
      expect(viaPg).toMatchObject({ code: "57014" });
      expect([isDatabaseUnavailable(viaPrisma), isDatabaseUnavailable(viaPg)]).toEqual([true, true]);

      // A model query (not raw SQL) waiting on a row another transaction holds: the client engine
      // throws the driver adapter's own error, which must count the same.
      const { notification } = await notifications.record(sql, {
        recipients: ["t@example.com"],
        from: "a@acme.test",
        subject: "s",
      });
      const holder = await slowSql.connect();
      try {
        await holder.query("BEGIN");
        await holder.query("SET LOCAL statement_timeout = 0");
        await holder.query("SELECT 1 FROM notifications WHERE id = $1::uuid FOR UPDATE", [notification.id]);
        const viaModel = await slowDb.notification
          .update({ where: { id: notification.id }, data: { subject: "t" } })
          .catch((error: unknown) => error);
        expect(String(viaModel)).toMatch(/statement timeout/);
        expect(isDatabaseUnavailable(viaModel)).toBe(true);
      } finally {
        await holder.query("ROLLBACK");
        holder.release();
      }
    } finally {
      await slowDb.$disconnect();
      await slowSql.end();
    }
  });

  it("pingDb answers false instead of throwing when nothing listens on the port", async () => {
    const down = createDb({ databaseUrl: "postgresql://postgres@127.0.0.1:1/nothing", connectionTimeoutMs: 500 });
    expect(await pingDb(down)).toBe(false);
    await down.$disconnect();
  });
});
