-- Reconciling against Resend: what the sweeper learned from the API about each notification, and
-- who decided each suppression (mailstate itself, or Resend's own list).

-- notifications: the last emails.get answer (a 404 included)
ALTER TABLE "notifications" ADD COLUMN "resend_checked_at" TIMESTAMPTZ(6),
ADD COLUMN "resend_check" JSONB;

-- What the sweeper scans: notifications with a Resend email id in a state that is not final, by the
-- time of their last event (or of their recording). Partial, so final notifications cost nothing.
CREATE INDEX "notifications_sweep_idx" ON "notifications"((COALESCE("state_changed_at", "created_at")))
  WHERE "resend_email_id" IS NOT NULL AND "state" IN ('recorded', 'scheduled', 'sent', 'delivery_delayed', 'delivered');

-- suppressions: mailstate or resend
ALTER TABLE "suppressions" ADD COLUMN "source" TEXT NOT NULL DEFAULT 'mailstate';
