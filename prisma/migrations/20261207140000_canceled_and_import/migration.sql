-- Issue 29: adopting mailstate mid-life.
-- `canceled`: a scheduled send cancelled before it went out (POST /v1/notifications/:id/cancel,
-- Resend's `email.failed` with the reason `canceled`, `last_event` canceled). A final state.
ALTER TYPE "DeliveryState" ADD VALUE 'canceled' AFTER 'failed';

-- When `mailstate import` created the notification from Resend's email list (null: recorded by the
-- application). An import run heals only the notifications it created, never the app's own.
ALTER TABLE "notifications" ADD COLUMN "imported_at" TIMESTAMPTZ(6);

-- Where an interrupted `mailstate import` stopped: one row per tenant imported for ('' for none),
-- written after each page, deleted when the run reaches the end. The next run with the same --since
-- resumes after `after_email_id`.
CREATE TABLE "resend_imports" (
    "scope" TEXT NOT NULL,
    "since" TIMESTAMPTZ(6),
    "after_email_id" TEXT NOT NULL,
    "listed" INTEGER NOT NULL DEFAULT 0,
    "imported" INTEGER NOT NULL DEFAULT 0,
    "known" INTEGER NOT NULL DEFAULT 0,
    "started_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "resend_imports_pkey" PRIMARY KEY ("scope")
);
