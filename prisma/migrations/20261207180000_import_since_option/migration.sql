-- `--since` as the interrupted `mailstate import` was given it (`30d`, `2026-01-31`; null: none).
-- The next run resumes when its --since is written the same, and keeps the cutoff (`since`) the
-- first run computed: `30d` is 30 days back from the first run, not from each run.
ALTER TABLE "resend_imports" ADD COLUMN "since_option" TEXT;
