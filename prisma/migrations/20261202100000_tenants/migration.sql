-- Tenants: API keys as data, an audit log of manual changes, and suppressions (with their soft
-- bounce runs) kept per list, a tenant or null for the list every tenant obeys.
-- The unique indexes on (email, tenant) treat NULL as one value (NULLS NOT DISTINCT, PostgreSQL 15+),
-- so the null list still holds one row per address and ON CONFLICT (email, tenant) finds it.

-- suppressions: one row per address and list
DROP INDEX "suppressions_email_key";
ALTER TABLE "suppressions" ADD COLUMN "tenant" TEXT;
CREATE UNIQUE INDEX "suppressions_email_tenant_key" ON "suppressions"("email", "tenant") NULLS NOT DISTINCT;
CREATE INDEX "suppressions_tenant_created_at_idx" ON "suppressions"("tenant", "created_at");

-- soft_bounce_counters: one run per address and list
ALTER TABLE "soft_bounce_counters" DROP CONSTRAINT "soft_bounce_counters_pkey",
ADD COLUMN "id" BIGSERIAL NOT NULL,
ADD COLUMN "tenant" TEXT,
ADD CONSTRAINT "soft_bounce_counters_pkey" PRIMARY KEY ("id");
CREATE UNIQUE INDEX "soft_bounce_counters_email_tenant_key" ON "soft_bounce_counters"("email", "tenant") NULLS NOT DISTINCT;

-- api_keys: the SHA-256 of each key, never the key
CREATE TABLE "api_keys" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "key_hash" TEXT NOT NULL,
    "tenant" TEXT,
    "name" TEXT,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMPTZ(6),
    "revoked_at" TIMESTAMPTZ(6),

    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "api_keys_key_hash_key" ON "api_keys"("key_hash");

-- audit_log: append-only
CREATE TABLE "audit_log" (
    "id" BIGSERIAL NOT NULL,
    "at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "action" TEXT NOT NULL,
    "actor_key_id" UUID,
    "actor" TEXT NOT NULL,
    "tenant" TEXT,
    "email" TEXT,
    "key_id" UUID,
    "detail" JSONB,

    CONSTRAINT "audit_log_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "audit_log_email_at_idx" ON "audit_log"("email", "at");
CREATE INDEX "audit_log_key_id_at_idx" ON "audit_log"("key_id", "at");
