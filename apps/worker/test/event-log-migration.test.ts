// The migration 20261207100000_partitioned_event_log on a database filled under the previous schema:
// every event is still in the log once (delivery_events, or engagement_events for applied opens and
// clicks), every notification, projection and rollup is what the new log folds to, and the migrated
// rows read back as the worker wrote them.

import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { engagement, events, notificationReads } from "@mailstate/db";
import { makeEvent, parseResendEvent, type ResendEventType } from "@mailstate/resend-events";
import { databaseUrl, dropDatabase, withAdminClient } from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectionOf } from "../src/reconcile/project.ts";
import { rebuildProjections, rebuildRollups } from "../src/reconcile/rebuild.ts";
import { connect, type DbClients } from "./testing.ts";

const MIGRATIONS = new URL("../../../prisma/migrations/", import.meta.url);
const PARTITIONED = "20261207100000_partitioned_event_log";
const migrations = readdirSync(MIGRATIONS)
  .filter((name) => /^\d{14}_/.test(name))
  .sort();
const before = migrations.filter((name) => name < PARTITIONED);
const from = migrations.filter((name) => name >= PARTITIONED);

let name: string;
let c: DbClients;

async function apply(names: string[]): Promise<void> {
  for (const migration of names)
    await c.sql.query(readFileSync(new URL(`${migration}/migration.sql`, MIGRATIONS), "utf8"));
}

const DAY = 86_400_000;
const today = Date.now();
/** Two of the days events happen on: one with a day partition after the migration (today), one without (200 days ago). */
const DAYS = [0, 200];

interface Seeded {
  svixIds: string[];
  notifications: number;
  /** Applied opens and clicks, as the previous worker logged them in both tables. */
  engagement: number;
}

/**
 * The previous schema's rows, as its worker wrote them: per notification sent, delivered (or a
 * bounce), two opens and a click, each applied in delivery_events with its whole payload, the opens
 * and clicks also in engagement_events (one of them without: the migration takes it from its
 * payload); events parked (unmatched), ignored and invalid with no notification. Projections as the
 * fold of each notification's events.
 */
async function seed(): Promise<Seeded> {
  const seeded: Seeded = { svixIds: [], notifications: 0, engagement: 0 };
  const log = async (svixId: string, body: object, row: { notificationId: string | null; status: string }) => {
    const type = (body as { type: string }).type;
    const createdAt = (body as { created_at?: string }).created_at;
    await c.sql.query(
      `INSERT INTO delivery_events (svix_id, type, occurred_at, received_at, email_id, payload, notification_id, status)
       VALUES ($1, $2, $3, $3, $4, $5, $6, $7)`,
      [
        svixId,
        type,
        createdAt ?? new Date(today).toISOString(),
        (body as { data?: { email_id?: string } }).data?.email_id ?? null,
        JSON.stringify(body),
        row.notificationId,
        row.status,
      ],
    );
    seeded.svixIds.push(svixId);
  };
  for (const daysAgo of DAYS) {
    for (let i = 0; i < 10; i += 1) {
      const emailId = `re_mig_${daysAgo}_${i}`;
      const to = [`mig${i}@example.com`];
      const { rows } = await c.sql.query<{ id: string }>(
        `INSERT INTO notifications (resend_email_id, recipients, "from", subject, created_at, updated_at)
         VALUES ($1, $2, 'Acme <hi@acme.test>', 'Hello', $3, $3) RETURNING id::text AS id`,
        [emailId, to, new Date(today - daysAgo * DAY)],
      );
      const id = rows[0]?.id ?? "";
      seeded.notifications += 1;
      const at = (second: number) => new Date(today - daysAgo * DAY + second * 1_000).toISOString();
      const outcome: ResendEventType = i % 5 === 0 ? "email.bounced" : "email.delivered";
      const lifecycle: [ResendEventType, number][] = [
        ["email.sent", 1],
        [outcome, 2],
        ["email.opened", 3],
        ["email.opened", 4],
        ["email.clicked", 5],
      ];
      const logged = [];
      for (const [type, second] of lifecycle) {
        const body = makeEvent(type, {
          created_at: at(second),
          data: {
            email_id: emailId,
            to,
            message_id: `<${emailId}@email.amazonses.com>`,
            ...(type === "email.clicked"
              ? { click: { link: `https://acme.test/${i}`, timestamp: at(second), ipAddress: "203.0.113.9" } }
              : {}),
          },
        });
        const svixId = `msg_mig_${daysAgo}_${i}_${second}`;
        await log(svixId, body, { notificationId: id, status: "applied" });
        logged.push({ svixId, event: parseResendEvent(body) });
        const kind = type === "email.opened" ? "opened" : type === "email.clicked" ? "clicked" : null;
        if (kind === null) continue;
        seeded.engagement += 1;
        // One open the previous engagement log lacks: the migration reads it from its payload.
        if (i === 3 && second === 4) continue;
        await c.sql.query(
          `INSERT INTO engagement_events (svix_id, notification_id, kind, occurred_at, link, ip_address)
           VALUES ($1, $2, $3, $4, $5, $6)`,
          [
            svixId,
            id,
            kind,
            at(second),
            kind === "clicked" ? `https://acme.test/${i}` : null,
            kind === "clicked" ? "203.0.113.9" : null,
          ],
        );
      }
      const projection = projectionOf(logged);
      await c.sql.query(
        `UPDATE notifications SET state = $2, state_changed_at = $3, state_event_type = $4, state_event_id = $5,
                open_count = $6, click_count = $7, first_opened_at = $8, first_clicked_at = $9 WHERE id = $1`,
        [
          id,
          projection.state,
          projection.stateChangedAt,
          projection.stateEventType,
          projection.stateEventId,
          projection.openCount,
          projection.clickCount,
          projection.firstOpenedAt,
          projection.firstClickedAt,
        ],
      );
    }
    const at = new Date(today - daysAgo * DAY).toISOString();
    await log(
      `msg_mig_parked_${daysAgo}`,
      makeEvent("email.delivered", { created_at: at, data: { email_id: `re_nobody_${daysAgo}` } }),
      {
        notificationId: null,
        status: "unmatched",
      },
    );
    await log(`msg_mig_domain_${daysAgo}`, makeEvent("domain.updated", { created_at: at }), {
      notificationId: null,
      status: "ignored",
    });
    await log(
      `msg_mig_invalid_${daysAgo}`,
      { type: "email.bounced", created_at: at, data: { email_id: "re_bad", to: 42 } },
      {
        notificationId: null,
        status: "invalid",
      },
    );
  }
  return seeded;
}

let seeded: Seeded;
let rollupsBefore: unknown[];

beforeAll(async () => {
  name = `mailstate_test_migration_${randomBytes(4).toString("hex")}`;
  await withAdminClient((client) => client.query(`CREATE DATABASE "${name}"`));
  c = connect(databaseUrl(name));
  await apply(before);
  seeded = await seed();
  // The rollups as the previous worker kept them: the recomputation of its log.
  await rebuildRollups(c.sql, { write: true });
  rollupsBefore = (await c.sql.query("SELECT * FROM reputation_hourly ORDER BY 1, 2, 3, 4")).rows;
  expect(await rebuildProjections(c.db, c.sql)).toMatchObject({ checked: seeded.notifications, differed: 0 });
  await apply(from);
}, 120_000);
afterAll(async () => {
  await c?.close();
  if (name) await dropDatabase(name);
});

describe("the partitioned event log's migration, on a database filled under the previous schema", () => {
  it(`${DAYS.length * 10} notifications × (sent, delivered or bounced, 2 opens, a click) + parked, ignored and invalid events → every svix-id once in the log, opens and clicks in engagement_events only, counts equal`, async () => {
    const logged = await c.sql.query<{ svix_id: string }>("SELECT svix_id FROM event_log ORDER BY svix_id");
    expect(logged.rows.map((row) => row.svix_id)).toEqual([...seeded.svixIds].sort());
    const counts = await c.sql.query<Record<string, number>>(
      `SELECT (SELECT count(*)::int FROM notifications) AS notifications,
              (SELECT count(*)::int FROM delivery_events) AS delivery,
              (SELECT count(*)::int FROM engagement_events) AS engagement`,
    );
    expect(counts.rows[0]).toEqual({
      notifications: seeded.notifications,
      delivery: seeded.svixIds.length - seeded.engagement,
      engagement: seeded.engagement,
    });
    // Today's events are in today's partition, those of 200 days ago in the default.
    const { rows } = await c.sql.query<{ part: string; n: number }>(
      "SELECT tableoid::regclass::text AS part, count(*)::int AS n FROM delivery_events GROUP BY 1 ORDER BY 1",
    );
    const todayPartition = `delivery_events_p${new Date(today).toISOString().slice(0, 10).replaceAll("-", "")}`;
    expect(rows.map((row) => row.part)).toEqual(["delivery_events_default", todayPartition].sort());
  });

  it("rebuild → 0 drift for the projections and the rollups; the rollups are the rows kept before", async () => {
    expect(await rebuildProjections(c.db, c.sql)).toMatchObject({ checked: seeded.notifications, differed: 0 });
    expect(await rebuildRollups(c.sql)).toMatchObject({ differed: 0 });
    expect((await c.sql.query("SELECT * FROM reputation_hourly ORDER BY 1, 2, 3, 4")).rows).toEqual(rollupsBefore);
  });

  it("a migrated delivery event is stored compacted and read back whole; its Message-ID is on its notification; the open the old engagement log lacked is there", async () => {
    const notification = await notificationReads.findByResendEmailId(c.db, "re_mig_0_3");
    expect(notification).toMatchObject({ messageId: "<re_mig_0_3@email.amazonses.com>", openCount: 2, clickCount: 1 });
    const stored = await events.findBySvixId(c.db, "msg_mig_0_3_1");
    expect(stored).toMatchObject({ emailId: null, payload: { created_at: expect.any(String) } });
    expect(stored?.payload).not.toHaveProperty("type");
    const restored = (await events.payloadsOf(c.sql, ["msg_mig_0_3_1"])).get("msg_mig_0_3_1");
    expect(parseResendEvent(restored)).toMatchObject({ type: "email.sent", data: { email_id: "re_mig_0_3" } });
    const opens = await engagement.listForNotification(c.db, notification?.id ?? "");
    expect(opens.map((row) => [row.svixId, row.kind])).toEqual([
      ["msg_mig_0_3_3", "opened"],
      ["msg_mig_0_3_4", "opened"],
      ["msg_mig_0_3_5", "clicked"],
    ]);
    // The parked event stays whole, with its email id, waiting for its send.
    expect(await events.findBySvixId(c.db, "msg_mig_parked_0")).toMatchObject({
      status: "unmatched",
      emailId: "re_nobody_0",
      payload: { type: "email.delivered" },
    });
  });
});
