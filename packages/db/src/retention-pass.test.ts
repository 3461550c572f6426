// Retention on real PostgreSQL: the day partitions of the event log (made ahead, rows moved out of
// the default), and one pass removing what was recorded before the cutoff, on day partitions and on
// rows in the default partition. Rows are backdated by hand.
import { createTestDatabase, type TestDatabase } from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createDayPartition,
  createSqlPool,
  defaultPartitionRows,
  ensurePartitions,
  listPartitions,
  oldestDayKept,
  partitionName,
  type RetentionCounts,
  rebuildHorizon,
  retentionCutoff,
  runRetention,
  type SqlPool,
} from "./index.ts";

const DAY = 86_400_000;
const NOW = new Date("2026-12-07T15:30:00Z");
const at = (days: number, hours = 12) => new Date(Date.UTC(2026, 11, 7 - days, hours));
const dayOf = (days: number) => at(days).toISOString().slice(0, 10);

/**
 * The event log as the migration leaves it (partitioned by day, with a default), without the day
 * partitions it made around the real today: each test makes the days it writes to.
 */
async function withoutDayPartitions(sql: SqlPool): Promise<void> {
  for (const table of ["delivery_events", "engagement_events"])
    for (const partition of (await listPartitions(sql, table)).days) await sql.query(`DROP TABLE ${partition.name}`);
}

async function notification(sql: SqlPool, createdAt: Date, label: string): Promise<string> {
  const { rows } = await sql.query<{ id: string }>(
    `INSERT INTO notifications (resend_email_id, recipients, "from", subject, created_at, updated_at)
     VALUES ($1, ARRAY['ret@example.com'], 'Acme <hi@acme.test>', $1, $2, $2) RETURNING id`,
    [`re_${label}`, createdAt],
  );
  return rows[0]?.id ?? "";
}

async function event(sql: SqlPool, notificationId: string | null, occurredAt: Date, svixId: string): Promise<void> {
  await sql.query(
    `INSERT INTO delivery_events (svix_id, type, occurred_at, email_id, payload, notification_id, status)
     VALUES ($1, 'email.delivered', $2, NULL, '{}', $3, $4)`,
    [svixId, occurredAt, notificationId, notificationId ? "applied" : "unmatched"],
  );
}

async function open(sql: SqlPool, notificationId: string, occurredAt: Date, svixId: string): Promise<void> {
  await sql.query(
    `INSERT INTO engagement_events (svix_id, notification_id, kind, occurred_at, ip_address) VALUES ($1, $2, 'opened', $3, '203.0.113.1')`,
    [svixId, notificationId, occurredAt],
  );
}

/** What is kept for good, one row each, to compare before and after. */
async function keptForGood(sql: SqlPool): Promise<Record<string, number>> {
  const { rows } = await sql.query<Record<string, number>>(
    `SELECT (SELECT count(*)::int FROM suppressions) AS suppressions, (SELECT count(*)::int FROM audit_log) AS audit_log,
            (SELECT coalesce(sum(sent), 0)::int FROM reputation_hourly) AS rollup_sent,
            (SELECT count(*)::int FROM api_keys) AS api_keys, (SELECT count(*)::int FROM soft_bounce_counters) AS soft_bounces`,
  );
  return rows[0] ?? {};
}

async function seedKeptForGood(sql: SqlPool): Promise<void> {
  const old = at(400);
  await sql.query(
    `INSERT INTO suppressions (email, reason, created_at) VALUES ('gone@example.com', 'hard_bounce', $1);
     INSERT INTO audit_log (at, action, actor, email) VALUES ($1, 'suppression.added', 'ops CLI', 'gone@example.com');
     INSERT INTO reputation_hourly (hour, sent, delivered) VALUES (date_trunc('hour', $1::timestamptz), 7, 6);
     INSERT INTO api_keys (key_hash, tenant, created_at) VALUES ('ret-hash', 'acme', $1);
     INSERT INTO soft_bounce_counters (email, count, updated_at) VALUES ('soft@example.com', 1, $1);`.replaceAll(
      "$1",
      `'${old.toISOString()}'`,
    ),
  );
}

async function count(sql: SqlPool, text: string, values: unknown[] = []): Promise<number> {
  return (await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM (${text}) AS x`, values)).rows[0]?.n ?? 0;
}

const zero: RetentionCounts = {
  notifications: 0,
  deliveryEvents: 0,
  engagementEvents: 0,
  outboundMessages: 0,
  deadLetters: 0,
  erasedEmails: 0,
};

describe("the event log's day partitions", () => {
  let database: TestDatabase;
  let sql: SqlPool;
  beforeAll(async () => {
    database = await createTestDatabase("partitions");
    sql = createSqlPool({ databaseUrl: database.url, poolSize: 4 });
    await withoutDayPartitions(sql);
  });
  afterAll(async () => {
    await sql.end();
    await database.drop();
  });

  it("ensurePartitions on 2026-12-07 15:30 → delivery_events_p20261207 … _p20261214 and the same for engagement_events, bounds from 00:00 UTC to the next day; a second run creates none", async () => {
    const report = await ensurePartitions(sql, { now: NOW });
    const days = Array.from({ length: 8 }, (_, i) => `2026-12-${String(7 + i).padStart(2, "0")}`);
    expect(report.created.sort()).toEqual(
      ["delivery_events", "engagement_events"].flatMap((table) => days.map((day) => partitionName(table, day))).sort(),
    );
    const listed = await listPartitions(sql, "delivery_events");
    expect(listed).toMatchObject({ partitioned: true, defaultPartition: "delivery_events_default" });
    expect(listed.days.map((p) => [p.name, p.from.toISOString(), p.to.toISOString()])[0]).toEqual([
      "delivery_events_p20261207",
      "2026-12-07T00:00:00.000Z",
      "2026-12-08T00:00:00.000Z",
    ]);
    expect(listed.days.map((p) => p.day)).toEqual(days);
    expect((await ensurePartitions(sql, { now: NOW })).created).toEqual([]);
    // On a plain table nothing is partitioned, nothing created.
    expect(await listPartitions(sql, "notifications")).toMatchObject({
      partitioned: false,
      days: [],
      defaultPartition: null,
    });
  });

  it("input: an event 40 days in the future → lands in the default partition (2 rows reported with an open); creating its day's partition moves them out in the same transaction, the default is empty again", async () => {
    const id = await notification(sql, NOW, "future");
    const future = new Date(NOW.getTime() + 40 * DAY);
    await event(sql, id, future, "msg_future");
    await open(sql, id, future, "msg_future_open");
    expect(await defaultPartitionRows(sql)).toEqual({ delivery_events: 1, engagement_events: 1 });
    const day = future.toISOString().slice(0, 10);
    expect(await createDayPartition(sql, "delivery_events", day)).toBe(1);
    expect(await createDayPartition(sql, "engagement_events", day)).toBe(1);
    expect(await createDayPartition(sql, "delivery_events", day)).toBeNull();
    expect(await defaultPartitionRows(sql)).toEqual({ delivery_events: 0, engagement_events: 0 });
    const { rows } = await sql.query<{ part: string }>(
      "SELECT tableoid::regclass::text AS part FROM delivery_events WHERE svix_id = 'msg_future'",
    );
    expect(rows).toEqual([{ part: partitionName("delivery_events", day) }]);
  });

  it("input: another session holds a lock on delivery_events → creating a partition gives up after the lock timeout (55P03) instead of hanging, and nothing is created", async () => {
    const holder = await sql.connect();
    try {
      await holder.query("BEGIN");
      await holder.query("LOCK TABLE delivery_events IN ACCESS EXCLUSIVE MODE");
      const started = Date.now();
      await expect(
        createDayPartition(sql, "delivery_events", "2027-03-01", { lockTimeoutMs: 200 }),
      ).rejects.toMatchObject({
        code: "55P03",
      });
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await holder.query("ROLLBACK");
      holder.release();
    }
    expect((await listPartitions(sql, "delivery_events")).days.map((p) => p.day)).not.toContain("2027-03-01");
  });
});

describe("a retention pass on the partitioned event log", () => {
  let database: TestDatabase;
  let sql: SqlPool;
  const ids: Record<string, string> = {};
  const cutoff = retentionCutoff(NOW, 90);

  beforeAll(async () => {
    database = await createTestDatabase("retention_parts");
    sql = createSqlPool({ databaseUrl: database.url, poolSize: 4 });
    await withoutDayPartitions(sql);
    // Partitions for the old days the test writes to, through the module, and today's week.
    for (const days of [100, 95, 91, 89, 10])
      for (const table of ["delivery_events", "engagement_events"]) await createDayPartition(sql, table, dayOf(days));
    await ensurePartitions(sql, { now: NOW });
    await seedKeptForGood(sql);
    // Old: recorded 100 days ago, events that day and 89 days ago (a kept partition).
    ids.old = await notification(sql, at(100), "old");
    await event(sql, ids.old, at(100), "msg_old_sent");
    await event(sql, ids.old, at(89), "msg_old_late");
    await open(sql, ids.old, at(100), "msg_old_open");
    // Old too, recorded just before the cutoff (91 days ago, 23:59).
    ids.edge = await notification(sql, new Date(cutoff.getTime() - 60_000), "edge");
    await event(sql, ids.edge, new Date(cutoff.getTime() - 30_000), "msg_edge");
    // Kept: recorded exactly at the cutoff, and 10 days ago.
    ids.atCutoff = await notification(sql, cutoff, "at_cutoff");
    await event(sql, ids.atCutoff, cutoff, "msg_at_cutoff");
    ids.fresh = await notification(sql, at(10), "fresh");
    await event(sql, ids.fresh, at(10), "msg_fresh");
    await open(sql, ids.fresh, at(10), "msg_fresh_open");
    // Stranded: recorded 10 days ago, with an event parked 95 days ago (in a partition that goes).
    ids.stranded = await notification(sql, at(10), "stranded");
    await event(sql, ids.stranded, at(95), "msg_stranded_parked");
    await event(sql, ids.stranded, at(10), "msg_stranded_new");
    await sql.query(
      `INSERT INTO reputation_hourly (hour, from_domain, sent) VALUES (date_trunc('hour', $1::timestamptz), 'acme.test', 1)`,
      [at(10)],
    );
    // Parked and never matched, 95 days ago; and one in the default partition (no day partition), 200 days ago.
    await event(sql, null, at(95), "msg_orphan_old");
    await event(sql, null, at(200), "msg_orphan_default");
    // Kept: a kept notification's event that lives in the default partition (its day has none).
    await event(sql, ids.fresh, at(150), "msg_fresh_default");
    // Outbound messages and dead letters either side of the cutoff.
    const endpoint = await sql.query<{ id: string }>(
      `INSERT INTO webhook_endpoints (url, events, secret) VALUES ('https://hooks.test/x', '{}', 'whsec_x') RETURNING id`,
    );
    for (const [id, days] of [
      ["msg_out_old", 95],
      ["msg_out_new", 5],
    ] as const)
      await sql.query(
        `INSERT INTO outbound_messages (id, endpoint_id, event_type, ordering_key, payload, created_at) VALUES ($1, $2, 't', 'k', '{}', $3)`,
        [id, endpoint.rows[0]?.id, at(days)],
      );
    for (const [svixId, resolved] of [
      ["dl_resolved_old", at(95)],
      ["dl_open_old", null],
      ["dl_resolved_new", at(5)],
    ] as const)
      await sql.query(
        `INSERT INTO dead_letters (svix_id, body, cause, error, first_failed_at, resolved_at) VALUES ($1, '{}', 'permanent_error', 'x', $2, $3)`,
        [svixId, at(120), resolved],
      );
  });
  afterAll(async () => {
    await sql.end();
    await database.drop();
  });

  const expected: RetentionCounts = {
    ...zero,
    // old, edge, stranded
    notifications: 3,
    // old ×2, edge, stranded ×2, both orphans
    deliveryEvents: 7,
    engagementEvents: 1,
    outboundMessages: 1,
    deadLetters: 1,
  };
  const dropped = [100, 95, 91].flatMap((days) =>
    ["delivery_events", "engagement_events"].map((table) => partitionName(table, dayOf(days))),
  );

  it("dry run (RETENTION_DAYS 90 on 2026-12-07 → cutoff 2026-09-08 00:00 UTC) → the counts and partitions a pass removes, and nothing changes", async () => {
    expect(cutoff.toISOString()).toBe("2026-09-08T00:00:00.000Z");
    const before = await sql.query("SELECT svix_id FROM delivery_events ORDER BY svix_id");
    const dry = await runRetention(sql, { cutoff, dryRun: true });
    expect(dry).toEqual({ cutoff: cutoff.toISOString(), dryRun: true, removed: expected, partitionsDropped: dropped });
    expect((await sql.query("SELECT svix_id FROM delivery_events ORDER BY svix_id")).rows).toEqual(before.rows);
    expect((await listPartitions(sql, "delivery_events")).days.map((p) => p.day)).toContain(dayOf(100));
  });

  it("a pass → the same counts as the dry run; old partitions dropped by name; what was recorded from the cutoff on stays whole; kept-for-good tables untouched but for the stranded notification's rollup; a second pass removes nothing", async () => {
    const kept = await keptForGood(sql);
    const report = await runRetention(sql, { cutoff });
    expect(report).toEqual({
      cutoff: cutoff.toISOString(),
      dryRun: false,
      removed: expected,
      partitionsDropped: dropped,
    });
    for (const name of dropped) expect((await sql.query("SELECT to_regclass($1) AS t", [name])).rows[0].t).toBeNull();
    const left = (await sql.query<{ id: string }>("SELECT id FROM notifications ORDER BY id")).rows.map((r) => r.id);
    expect(left.sort()).toEqual([ids.atCutoff, ids.fresh].sort());
    const events = (await sql.query<{ svix_id: string }>("SELECT svix_id FROM delivery_events ORDER BY svix_id")).rows;
    expect(events.map((r) => r.svix_id)).toEqual(["msg_at_cutoff", "msg_fresh", "msg_fresh_default"]);
    expect(await count(sql, "SELECT * FROM engagement_events")).toBe(1);
    expect((await sql.query("SELECT id FROM outbound_messages")).rows).toEqual([{ id: "msg_out_new" }]);
    expect((await sql.query("SELECT svix_id FROM dead_letters ORDER BY svix_id")).rows).toEqual([
      { svix_id: "dl_open_old" },
      { svix_id: "dl_resolved_new" },
    ]);
    // The stranded notification's sent left its hour's rollup (its hour is one rebuild recomputes).
    expect(await keptForGood(sql)).toEqual({ ...kept, rollup_sent: (kept.rollup_sent ?? 0) - 1 });
    expect(await runRetention(sql, { cutoff })).toEqual({
      cutoff: cutoff.toISOString(),
      dryRun: false,
      removed: zero,
      partitionsDropped: [],
    });
    // The oldest day kept: the notification recorded at the cutoff, older than the oldest partition (89 days ago).
    expect((await listPartitions(sql, "delivery_events")).days[0]?.day).toBe(dayOf(89));
    expect(await oldestDayKept(sql)).toEqual(cutoff);
    expect(await rebuildHorizon(sql, cutoff)).toEqual(cutoff);
  });
});

describe("a retention pass on days that have no partition (their rows in the default), killed after its first chunk", () => {
  let database: TestDatabase;
  let sql: SqlPool;
  const cutoff = retentionCutoff(NOW, 30);
  const old: string[] = [];
  const fresh: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase("retention_default");
    sql = createSqlPool({ databaseUrl: database.url, poolSize: 4 });
    await withoutDayPartitions(sql);
    for (let i = 0; i < 5; i += 1) {
      const id = await notification(sql, at(40 + i), `old_${i}`);
      old.push(id);
      await event(sql, id, at(40 + i), `msg_old_${i}_a`);
      await event(sql, id, at(20), `msg_old_${i}_b`);
      await open(sql, id, at(39), `msg_old_${i}_open`);
    }
    for (let i = 0; i < 2; i += 1) {
      const id = await notification(sql, at(5), `fresh_${i}`);
      fresh.push(id);
      await event(sql, id, at(5), `msg_fresh_${i}`);
      // An event from before the cutoff of a kept notification (parked long): it stays with it.
      await event(sql, id, at(60), `msg_fresh_${i}_early`);
    }
    await event(sql, null, at(50), "msg_orphan");
  });
  afterAll(async () => {
    await sql.end();
    await database.drop();
  });

  it("chunks of 2, aborted after the first → 2 old notifications gone whole (none half), every kept row there; the next pass removes the rest and reports it; together they equal the dry run's counts", async () => {
    const dry = await runRetention(sql, { cutoff, dryRun: true, chunkSize: 2 });
    expect(dry.removed).toEqual({ ...zero, notifications: 5, deliveryEvents: 11, engagementEvents: 5 });
    expect(dry.partitionsDropped).toEqual([]);

    let steps = 0;
    await expect(
      runRetention(sql, {
        cutoff,
        chunkSize: 2,
        afterStep: (step) => {
          steps += 1;
          if (step === "notifications") throw new Error("killed");
        },
      }),
    ).rejects.toThrow("killed");
    // The orphan went in its own step before the notifications.
    expect(steps).toBe(2);
    const left = (await sql.query<{ id: string }>("SELECT id FROM notifications")).rows.map((r) => r.id);
    expect(left).toHaveLength(5);
    for (const id of fresh) expect(left).toContain(id);
    // Every notification left has all its events: nothing half-deleted.
    expect(
      await count(
        sql,
        `SELECT n.id FROM notifications n WHERE (SELECT count(*) FROM delivery_events e WHERE e.notification_id = n.id) <> 2`,
      ),
    ).toBe(0);

    const second = await runRetention(sql, { cutoff, chunkSize: 2 });
    expect(second.removed).toEqual({ ...zero, notifications: 3, deliveryEvents: 6, engagementEvents: 3 });
    expect(dry.removed.deliveryEvents).toBe(1 + 2 * 2 + second.removed.deliveryEvents);
    expect((await sql.query<{ id: string }>("SELECT id FROM notifications")).rows.map((r) => r.id).sort()).toEqual(
      [...fresh].sort(),
    );
    expect(await count(sql, "SELECT * FROM delivery_events")).toBe(4);
    expect((await runRetention(sql, { cutoff, dryRun: true })).removed).toEqual(zero);
    // No day partitions: the kept notifications' 4 events are in the default; the oldest day is the oldest notification's.
    expect(await defaultPartitionRows(sql)).toEqual({ delivery_events: 4, engagement_events: 0 });
    expect((await oldestDayKept(sql))?.toISOString()).toBe(`${dayOf(5)}T00:00:00.000Z`);
  });
});
