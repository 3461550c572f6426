-- Outbound webhooks: endpoints applications register, and the outbox of signed messages to them,
-- written in the same transaction as the change each message speaks of, then relayed to BullMQ.
-- CreateEnum
CREATE TYPE "OutboundStatus" AS ENUM ('pending', 'delivered', 'failed');

-- CreateTable
CREATE TABLE "webhook_endpoints" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "tenant" TEXT,
    "url" TEXT NOT NULL,
    "events" TEXT[],
    "description" TEXT,
    "secret" TEXT NOT NULL,
    "previous_secret" TEXT,
    "previous_secret_expires_at" TIMESTAMPTZ(6),
    "failing_since" TIMESTAMPTZ(6),
    "disabled_at" TIMESTAMPTZ(6),
    "disabled_reason" TEXT,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "webhook_endpoints_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "outbound_messages" (
    "id" TEXT NOT NULL,
    "seq" BIGSERIAL NOT NULL,
    "endpoint_id" UUID NOT NULL,
    "event_type" TEXT NOT NULL,
    "ordering_key" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "status" "OutboundStatus" NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_status_code" INTEGER,
    "last_error" TEXT,
    "last_attempt_at" TIMESTAMPTZ(6),
    "delivered_at" TIMESTAMPTZ(6),
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "outbound_messages_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "webhook_endpoints_tenant_idx" ON "webhook_endpoints"("tenant");

-- CreateIndex
CREATE INDEX "outbound_messages_endpoint_id_seq_idx" ON "outbound_messages"("endpoint_id", "seq");

-- CreateIndex
CREATE INDEX "outbound_messages_endpoint_id_ordering_key_seq_idx" ON "outbound_messages"("endpoint_id", "ordering_key", "seq");

-- CreateIndex
CREATE UNIQUE INDEX "outbound_messages_seq_key" ON "outbound_messages"("seq");

-- AddForeignKey
ALTER TABLE "outbound_messages" ADD CONSTRAINT "outbound_messages_endpoint_id_fkey" FOREIGN KEY ("endpoint_id") REFERENCES "webhook_endpoints"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- What the relay scans: the messages not yet delivered nor given up, in commit order. Partial, so
-- the delivered log costs it nothing (Prisma cannot spell a partial index: it lives here only).
CREATE INDEX "outbound_messages_pending_idx" ON "outbound_messages"("seq") WHERE "status" = 'pending';
