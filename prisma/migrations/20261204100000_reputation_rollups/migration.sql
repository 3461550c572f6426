-- Reputation rollups: hourly counts of notifications per tenant, category and from-domain, kept by
-- the worker in the transaction of the events that change them (see packages/db reputation.ts).

-- CreateTable
CREATE TABLE "reputation_hourly" (
    "hour" TIMESTAMPTZ(6) NOT NULL,
    "tenant" TEXT NOT NULL DEFAULT '',
    "category" TEXT NOT NULL DEFAULT '',
    "from_domain" TEXT NOT NULL DEFAULT '',
    "sent" INTEGER NOT NULL DEFAULT 0,
    "delivered" INTEGER NOT NULL DEFAULT 0,
    "hard_bounced" INTEGER NOT NULL DEFAULT 0,
    "soft_bounced" INTEGER NOT NULL DEFAULT 0,
    "complained" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "reputation_hourly_pkey" PRIMARY KEY ("hour","tenant","category","from_domain")
);

-- CreateIndex
CREATE INDEX "reputation_hourly_tenant_hour_idx" ON "reputation_hourly"("tenant", "hour");

-- Backfill from the log already there: the same statement as mailstate rebuild --write.
INSERT INTO "reputation_hourly" ("hour", "tenant", "category", "from_domain", "sent", "delivered", "hard_bounced", "soft_bounced", "complained")
SELECT date_trunc('hour', n."created_at"), COALESCE(n."tenant", ''), COALESCE(n."category", ''),
       COALESCE(lower(substring(n."from" from '@([^@<>[:space:]]+)>?[[:space:]]*$')), ''),
       count(*) FILTER (WHERE f.sent), count(*) FILTER (WHERE f.delivered),
       count(*) FILTER (WHERE f.hard), count(*) FILTER (WHERE f.bounced AND NOT f.hard),
       count(*) FILTER (WHERE f.complained)
  FROM (SELECT e."notification_id",
               bool_or(e."type" IN ('email.sent', 'email.delivered', 'email.delivery_delayed', 'email.bounced', 'email.complained')) AS sent,
               bool_or(e."type" = 'email.delivered') AS delivered,
               bool_or(e."type" = 'email.bounced' AND e."payload"->'data'->'bounce'->>'type' = 'Permanent') AS hard,
               bool_or(e."type" = 'email.bounced') AS bounced,
               bool_or(e."type" = 'email.complained') AS complained
          FROM "delivery_events" AS e
         WHERE e."status" = 'applied' AND e."notification_id" IS NOT NULL
         GROUP BY e."notification_id") AS f
  JOIN "notifications" AS n ON n."id" = f."notification_id"
 GROUP BY 1, 2, 3, 4;
