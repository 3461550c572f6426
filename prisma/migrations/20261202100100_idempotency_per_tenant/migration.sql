-- An idempotency key is unique per tenant, not across tenants: another tenant reusing a key records
-- a notification of its own. The sends of no tenant count as one more tenant (COALESCE to the empty
-- name, which no tenant has: the API takes 1 to 200 characters), and a send without a key conflicts
-- with none (a NULL key is distinct). Key first: a record looks a repeat up by its key.
DROP INDEX "notifications_idempotency_key_key";
CREATE UNIQUE INDEX "notifications_idempotency_key_tenant_key" ON "notifications"("idempotency_key", (COALESCE("tenant", '')));
