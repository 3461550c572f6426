-- The worker folds only the delivery events of a notification: opens and clicks never move its state.
-- This partial index finds them without reading the opens and clicks of the notification, however many.
-- The Prisma schema cannot express a partial index, and migrate dev leaves this one alone (checked).
CREATE INDEX "delivery_events_applied_delivery_idx" ON "delivery_events" ("notification_id")
  WHERE "status" = 'applied' AND "type" NOT IN ('email.opened', 'email.clicked');
