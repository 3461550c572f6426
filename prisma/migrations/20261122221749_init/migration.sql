-- CreateEnum
CREATE TYPE "DeliveryState" AS ENUM ('recorded', 'scheduled', 'sent', 'delivery_delayed', 'delivered', 'bounced', 'complained', 'failed', 'suppressed');

-- CreateEnum
CREATE TYPE "EventStatus" AS ENUM ('applied', 'unmatched', 'ignored');

-- CreateEnum
CREATE TYPE "EngagementKind" AS ENUM ('opened', 'clicked');

-- CreateEnum
CREATE TYPE "SuppressionReason" AS ENUM ('hard_bounce', 'soft_bounce_threshold', 'complaint', 'manual');

-- CreateTable
CREATE TABLE "notifications" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "resend_email_id" TEXT,
    "recipients" TEXT[],
    "from" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "tenant" TEXT,
    "tags" JSONB NOT NULL DEFAULT '{}',
    "category" TEXT,
    "metadata" JSONB,
    "idempotency_key" TEXT,
    "suppression_bypassed" BOOLEAN NOT NULL DEFAULT false,
    "state" "DeliveryState" NOT NULL DEFAULT 'recorded',
    "state_changed_at" TIMESTAMPTZ(6),
    "state_event_type" TEXT,
    "state_event_id" TEXT,
    "open_count" INTEGER NOT NULL DEFAULT 0,
    "click_count" INTEGER NOT NULL DEFAULT 0,
    "first_opened_at" TIMESTAMPTZ(6),
    "first_clicked_at" TIMESTAMPTZ(6),
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "notifications_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "delivery_events" (
    "id" BIGSERIAL NOT NULL,
    "svix_id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "occurred_at" TIMESTAMPTZ(6) NOT NULL,
    "received_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "email_id" TEXT,
    "payload" JSONB NOT NULL,
    "notification_id" UUID,
    "status" "EventStatus" NOT NULL,

    CONSTRAINT "delivery_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "engagement_events" (
    "id" BIGSERIAL NOT NULL,
    "svix_id" TEXT NOT NULL,
    "notification_id" UUID NOT NULL,
    "kind" "EngagementKind" NOT NULL,
    "occurred_at" TIMESTAMPTZ(6) NOT NULL,
    "link" TEXT,
    "user_agent" TEXT,
    "ip_address" TEXT,

    CONSTRAINT "engagement_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "suppressions" (
    "id" BIGSERIAL NOT NULL,
    "email" TEXT NOT NULL,
    "reason" "SuppressionReason" NOT NULL,
    "source_event_id" TEXT,
    "metadata" JSONB,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(6),

    CONSTRAINT "suppressions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "soft_bounce_counters" (
    "email" TEXT NOT NULL,
    "count" INTEGER NOT NULL DEFAULT 0,
    "last_event_id" TEXT,
    "last_bounce_at" TIMESTAMPTZ(6),
    "updated_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "soft_bounce_counters_pkey" PRIMARY KEY ("email")
);

-- CreateIndex
CREATE UNIQUE INDEX "notifications_resend_email_id_key" ON "notifications"("resend_email_id");

-- CreateIndex
CREATE UNIQUE INDEX "notifications_idempotency_key_key" ON "notifications"("idempotency_key");

-- CreateIndex
CREATE INDEX "notifications_recipients_idx" ON "notifications" USING GIN ("recipients");

-- CreateIndex
CREATE INDEX "notifications_tenant_created_at_idx" ON "notifications"("tenant", "created_at");

-- CreateIndex
CREATE INDEX "notifications_state_created_at_idx" ON "notifications"("state", "created_at");

-- CreateIndex
CREATE INDEX "notifications_created_at_id_idx" ON "notifications"("created_at", "id");

-- CreateIndex
CREATE UNIQUE INDEX "delivery_events_svix_id_key" ON "delivery_events"("svix_id");

-- CreateIndex
CREATE INDEX "delivery_events_email_id_idx" ON "delivery_events"("email_id");

-- CreateIndex
CREATE INDEX "delivery_events_notification_id_occurred_at_idx" ON "delivery_events"("notification_id", "occurred_at");

-- CreateIndex
CREATE INDEX "delivery_events_status_received_at_idx" ON "delivery_events"("status", "received_at");

-- CreateIndex
CREATE UNIQUE INDEX "engagement_events_svix_id_key" ON "engagement_events"("svix_id");

-- CreateIndex
CREATE INDEX "engagement_events_notification_id_occurred_at_idx" ON "engagement_events"("notification_id", "occurred_at");

-- CreateIndex
CREATE UNIQUE INDEX "suppressions_email_key" ON "suppressions"("email");

-- CreateIndex
CREATE INDEX "suppressions_created_at_idx" ON "suppressions"("created_at");

-- AddForeignKey
ALTER TABLE "delivery_events" ADD CONSTRAINT "delivery_events_notification_id_fkey" FOREIGN KEY ("notification_id") REFERENCES "notifications"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "engagement_events" ADD CONSTRAINT "engagement_events_notification_id_fkey" FOREIGN KEY ("notification_id") REFERENCES "notifications"("id") ON DELETE CASCADE ON UPDATE CASCADE;
