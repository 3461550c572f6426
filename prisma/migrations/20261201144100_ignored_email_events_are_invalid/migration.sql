-- Events about a sent email were logged as `ignored` only when their schema rejected them: they are
-- `invalid` now, so `mailstate reprocess --status invalid` can apply them once the schema accepts them.
-- (A migration of its own: an enum value cannot be used in the transaction that adds it.)
UPDATE "delivery_events" SET "status" = 'invalid'
 WHERE "status" = 'ignored'
   AND "type" IN ('email.scheduled', 'email.sent', 'email.delivered', 'email.delivery_delayed', 'email.bounced',
                  'email.complained', 'email.opened', 'email.clicked', 'email.failed', 'email.suppressed');
