-- AlterTable
ALTER TABLE "soft_bounce_counters" ADD COLUMN     "last_delivered_at" TIMESTAMPTZ(6);
