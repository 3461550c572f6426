-- Erasure (issue 26): the Resend email ids of erased notifications, so that a webhook arriving after
-- the erasure is dropped instead of logged again. The ids are Resend's random ids, never the address.
-- Kept RETENTION_DAYS, like the per-message data they stand in for.
CREATE TABLE "erased_emails" (
    "email_id" TEXT NOT NULL,
    "tenant" TEXT,
    "erased_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "erased_emails_pkey" PRIMARY KEY ("email_id")
);

CREATE INDEX "erased_emails_erased_at_idx" ON "erased_emails"("erased_at");
