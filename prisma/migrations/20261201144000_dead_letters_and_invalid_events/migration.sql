-- AlterEnum
ALTER TYPE "EventStatus" ADD VALUE 'invalid';

-- CreateTable
CREATE TABLE "dead_letters" (
    "id" BIGSERIAL NOT NULL,
    "svix_id" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "event_type" TEXT,
    "email_id" TEXT,
    "received_at" TIMESTAMPTZ(6),
    "cause" TEXT NOT NULL,
    "error" TEXT NOT NULL,
    "error_code" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "first_failed_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_failed_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "resolved_at" TIMESTAMPTZ(6),
    "resolution" TEXT,

    CONSTRAINT "dead_letters_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "dead_letters_svix_id_key" ON "dead_letters"("svix_id");

-- CreateIndex
CREATE INDEX "dead_letters_email_id_idx" ON "dead_letters"("email_id");

-- CreateIndex
CREATE INDEX "dead_letters_resolved_at_last_failed_at_idx" ON "dead_letters"("resolved_at", "last_failed_at");
