-- The event log, partitioned by time so that retention drops a day at a time instead of deleting rows,
-- and smaller per email:
--   * delivery_events and engagement_events are PARTITION BY RANGE (occurred_at), one partition per UTC
--     day (<table>_pYYYYMMDD), and a DEFAULT partition (<table>_default) for rows outside every day made
--     (a clock far off, an event older than the partitions). The maintenance job makes the days ahead.
--   * Deduplication: a redelivery carries the same svix-id and the same body, so the same created_at:
--     it lands in the same partition, where the primary key (svix_id, occurred_at) makes it a no-op for
--     as long as that day is kept (RETENTION_DAYS). The id columns go: nothing needs them.
--   * Opens and clicks applied to a notification live in engagement_events only (they were written to
--     both); engagement_events' primary key (notification_id, occurred_at, svix_id) both deduplicates
--     and serves the timeline's pages. Unmatched ones still wait in delivery_events, raw.
--   * An applied delivery event keeps its payload without what its columns and its notification hold
--     (type, data.email_id, data.from, data.to, data.subject, data.tags, data.message_id) and
--     data.created_at, and no email id of its own (its notification's): events.restorePayload puts them
--     back for reading.
--   * A notification and its events go together: the foreign key cascades.
--   * Indexes serve the queries the code makes: the email id and status indexes hold only the rows
--     that wait (unmatched, invalid), not the applied ones.
--   * An email's Message-ID is kept once, on its notification (notifications.message_id), and the time of
--     its earliest applied delivery event (notifications.first_event_at), from which the worker reads its
--     events: the partitions before it are not visited.
--   * notifications_recipients_idx writes straight into the GIN tree (fastupdate off): its pending list
--     left pages half used; notifications_tenant_created_at_idx holds only rows that have a tenant; and
--     notifications leave a fifth of each page free for their updates.
-- Rows are copied, none lost: the counts before and after are checked at the end.

ALTER TABLE "notifications" ADD COLUMN "message_id" TEXT, ADD COLUMN "first_event_at" TIMESTAMPTZ(6);
UPDATE "notifications" AS n SET "first_event_at" = e."at"
  FROM (SELECT "notification_id", min("occurred_at") AS "at" FROM "delivery_events"
         WHERE "status" = 'applied' AND "type" NOT IN ('email.opened', 'email.clicked') GROUP BY "notification_id") AS e
 WHERE n."id" = e."notification_id";
UPDATE "notifications" AS n SET "message_id" = e."message_id"
  FROM (SELECT DISTINCT ON ("notification_id") "notification_id", "payload" #>> '{data,message_id}' AS "message_id"
          FROM "delivery_events" WHERE "status" = 'applied' AND "payload" #>> '{data,message_id}' IS NOT NULL
         ORDER BY "notification_id", "occurred_at") AS e
 WHERE n."id" = e."notification_id";
ALTER INDEX "notifications_recipients_idx" SET (fastupdate = off);
-- Room on each page for the projection's updates to stay there (HOT), rather than move the row and
-- add an entry to every index each time.
ALTER TABLE "notifications" SET (fillfactor = 80);
DROP INDEX "notifications_tenant_created_at_idx";
CREATE INDEX "notifications_tenant_created_at_idx" ON "notifications" ("tenant", "created_at") WHERE "tenant" IS NOT NULL;

-- The old tables step aside, with their indexes and constraints (their names are reused below).
ALTER TABLE "delivery_events" RENAME TO "delivery_events_unpartitioned";
ALTER TABLE "delivery_events_unpartitioned" DROP CONSTRAINT "delivery_events_notification_id_fkey";
ALTER TABLE "delivery_events_unpartitioned" DROP CONSTRAINT "delivery_events_pkey";
DROP INDEX "delivery_events_svix_id_key", "delivery_events_email_id_idx",
  "delivery_events_notification_id_occurred_at_idx", "delivery_events_status_received_at_idx",
  "delivery_events_applied_delivery_idx", "delivery_events_pii_idx";
ALTER TABLE "engagement_events" RENAME TO "engagement_events_unpartitioned";
ALTER TABLE "engagement_events_unpartitioned" DROP CONSTRAINT "engagement_events_notification_id_fkey";
ALTER TABLE "engagement_events_unpartitioned" DROP CONSTRAINT "engagement_events_pkey";
DROP INDEX "engagement_events_svix_id_key", "engagement_events_notification_id_occurred_at_idx",
  "engagement_events_pii_idx";

CREATE TABLE "delivery_events" (
    "svix_id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "occurred_at" TIMESTAMPTZ(6) NOT NULL,
    "received_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "email_id" TEXT,
    "payload" JSONB NOT NULL,
    "notification_id" UUID,
    "status" "EventStatus" NOT NULL,
    "adopted_at" TIMESTAMPTZ(6),
    CONSTRAINT "delivery_events_pkey" PRIMARY KEY ("svix_id", "occurred_at")
) PARTITION BY RANGE ("occurred_at");

CREATE TABLE "engagement_events" (
    "svix_id" TEXT NOT NULL,
    "notification_id" UUID NOT NULL,
    "kind" "EngagementKind" NOT NULL,
    "occurred_at" TIMESTAMPTZ(6) NOT NULL,
    "link" TEXT,
    "user_agent" TEXT,
    "ip_address" TEXT,
    CONSTRAINT "engagement_events_pkey" PRIMARY KEY ("notification_id", "occurred_at", "svix_id")
) PARTITION BY RANGE ("occurred_at");

CREATE TABLE "delivery_events_default" PARTITION OF "delivery_events" DEFAULT;
CREATE TABLE "engagement_events_default" PARTITION OF "engagement_events" DEFAULT;

-- A partition for each day of the last 120 that holds events, and for yesterday through a week ahead;
-- older days go to the default partition, which the first retention pass empties of what is past
-- RETENTION_DAYS.
DO $$
DECLARE
  day date;
  tbl text;
  today date := (now() AT TIME ZONE 'UTC')::date;
BEGIN
  FOR day IN
    SELECT d FROM (
      SELECT DISTINCT ("occurred_at" AT TIME ZONE 'UTC')::date AS d FROM "delivery_events_unpartitioned"
      UNION SELECT DISTINCT ("occurred_at" AT TIME ZONE 'UTC')::date FROM "engagement_events_unpartitioned"
      UNION SELECT generate_series(today - 1, today + 7, interval '1 day')::date
    ) AS days
    WHERE d BETWEEN today - 120 AND today + 7
  LOOP
    FOREACH tbl IN ARRAY ARRAY['delivery_events', 'engagement_events'] LOOP
      EXECUTE format(
        'CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
        tbl || '_p' || to_char(day, 'YYYYMMDD'), tbl,
        to_char(day, 'YYYY-MM-DD') || ' 00:00:00+00', to_char(day + 1, 'YYYY-MM-DD') || ' 00:00:00+00');
    END LOOP;
  END LOOP;
END $$;

INSERT INTO "delivery_events" ("svix_id", "type", "occurred_at", "received_at", "email_id", "payload",
                               "notification_id", "status", "adopted_at")
SELECT "svix_id", "type", "occurred_at", "received_at",
       CASE WHEN "status" = 'applied' THEN NULL ELSE "email_id" END,
       CASE WHEN "status" = 'applied'
            THEN "compacted" - CASE WHEN "compacted" -> 'data' = '{}'::jsonb THEN 'data' ELSE '' END
            ELSE "payload" END,
       "notification_id", "status", "adopted_at"
  FROM "delivery_events_unpartitioned",
       LATERAL (SELECT ("payload" - 'type') #- '{data,email_id}' #- '{data,from}' #- '{data,to}' #- '{data,subject}'
                       #- '{data,tags}' #- '{data,message_id}' #- '{data,created_at}' AS "compacted") AS c
 WHERE NOT ("status" = 'applied' AND "type" IN ('email.opened', 'email.clicked'));

INSERT INTO "engagement_events" ("svix_id", "notification_id", "kind", "occurred_at", "link", "user_agent", "ip_address")
SELECT "svix_id", "notification_id", "kind", "occurred_at", "link", "user_agent", "ip_address"
  FROM "engagement_events_unpartitioned";
-- An applied open or click the engagement log lacks (none should), from its payload.
INSERT INTO "engagement_events" ("svix_id", "notification_id", "kind", "occurred_at", "link", "user_agent", "ip_address")
SELECT d."svix_id", d."notification_id", CAST(substr(d."type", 7) AS "EngagementKind"), d."occurred_at",
       d."payload" #>> '{data,click,link}',
       COALESCE(d."payload" #>> '{data,click,userAgent}', d."payload" #>> '{data,open,userAgent}'),
       COALESCE(d."payload" #>> '{data,click,ipAddress}', d."payload" #>> '{data,open,ipAddress}')
  FROM "delivery_events_unpartitioned" AS d
 WHERE d."status" = 'applied' AND d."type" IN ('email.opened', 'email.clicked') AND d."notification_id" IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM "engagement_events_unpartitioned" AS g WHERE g."svix_id" = d."svix_id");

DO $$
DECLARE
  expected record;
  delivery bigint;
  engagement bigint;
BEGIN
  SELECT (SELECT count(*) FROM "delivery_events_unpartitioned"
            WHERE NOT ("status" = 'applied' AND "type" IN ('email.opened', 'email.clicked'))) AS delivery,
         (SELECT count(*) FROM (SELECT "svix_id" FROM "engagement_events_unpartitioned"
                                UNION SELECT "svix_id" FROM "delivery_events_unpartitioned"
                                 WHERE "status" = 'applied' AND "type" IN ('email.opened', 'email.clicked')
                                   AND "notification_id" IS NOT NULL) AS e) AS engagement
    INTO expected;
  SELECT count(*) INTO delivery FROM "delivery_events";
  SELECT count(*) INTO engagement FROM "engagement_events";
  IF delivery <> expected.delivery OR engagement <> expected.engagement THEN
    RAISE EXCEPTION 'partitioned event log: % delivery and % engagement rows copied, % and % expected',
      delivery, engagement, expected.delivery, expected.engagement;
  END IF;
END $$;

DROP TABLE "delivery_events_unpartitioned";
DROP TABLE "engagement_events_unpartitioned";

-- The fold of a notification, its timeline, and the foreign key's cascade.
CREATE INDEX "delivery_events_notification_id_occurred_at_idx" ON "delivery_events" ("notification_id", "occurred_at");
-- Events waiting for their send (unmatched) or for a schema that reads them (invalid), by email id.
CREATE INDEX "delivery_events_waiting_email_id_idx" ON "delivery_events" ("email_id")
  WHERE "status" IN ('unmatched', 'invalid');
-- The parked backlog and the lists of events by status: every status but applied.
CREATE INDEX "delivery_events_status_received_at_idx" ON "delivery_events" ("status", "received_at")
  WHERE "status" <> 'applied';
-- The ENGAGEMENT_PII_DAYS scrub (see 20261201160000_engagement_pii_retention), as before.
CREATE INDEX "delivery_events_pii_idx" ON "delivery_events" ("occurred_at")
  WHERE ("payload" #> '{data,click}' ?| ARRAY['ipAddress', 'userAgent'] OR "payload" #> '{data,open}' ?| ARRAY['ipAddress', 'userAgent']);
CREATE INDEX "engagement_events_pii_idx" ON "engagement_events" ("occurred_at")
  WHERE ("ip_address" IS NOT NULL OR "user_agent" IS NOT NULL);

ALTER TABLE "delivery_events" ADD CONSTRAINT "delivery_events_notification_id_fkey" FOREIGN KEY ("notification_id")
  REFERENCES "notifications"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "engagement_events" ADD CONSTRAINT "engagement_events_notification_id_fkey" FOREIGN KEY ("notification_id")
  REFERENCES "notifications"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Every event of the log wherever it lives, for readers that count or look up by svix-id (ops,
-- tests): applied opens and clicks are in engagement_events, every other event in delivery_events.
CREATE VIEW "event_log" AS
SELECT "svix_id", "type", "occurred_at", "received_at", "notification_id", "status" FROM "delivery_events"
UNION ALL
SELECT "svix_id", 'email.' || "kind", "occurred_at", NULL, "notification_id", 'applied'::"EventStatus"
  FROM "engagement_events";
