-- Find an email by the Message-ID of its headers (GET /v1/notifications?messageId=, the support search).
-- message_id keeps the value as Resend's events carry it, `<…@email.amazonses.com>` (the events'
-- restored payloads give it back as it came); a lookup matches it with the spaces and angle brackets
-- around it removed, on both sides, so `<id@host>` and `id@host` find the same email. The index is of
-- that expression, word for word the one notifications.list queries (MESSAGE_ID_KEY); Prisma cannot
-- spell an expression index, so it lives in this migration only (and `prisma migrate diff` from the
-- migrations to the schema asks for no change to it: checked). The worker sets message_id once and
-- keeps it, so no projection update that could stay on its page (HOT) is kept from it by this index.
CREATE INDEX "notifications_message_id_key_idx" ON "notifications" (btrim("message_id", ' <>'));
