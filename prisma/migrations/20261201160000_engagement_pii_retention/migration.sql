-- Personal data retention (ENGAGEMENT_PII_DAYS): the scrub job finds the rows that still carry an
-- IP address or a user agent, oldest first. Scrubbed rows leave these partial indexes, so they hold
-- only the last days of opens and clicks, and the job stays cheap however long the log grows.
CREATE INDEX "engagement_events_pii_idx" ON "engagement_events" ("occurred_at")
  WHERE ("ip_address" IS NOT NULL OR "user_agent" IS NOT NULL);

CREATE INDEX "delivery_events_pii_idx" ON "delivery_events" ("occurred_at")
  WHERE ("payload" #> '{data,click}' ?| ARRAY['ipAddress', 'userAgent'] OR "payload" #> '{data,open}' ?| ARRAY['ipAddress', 'userAgent']);
