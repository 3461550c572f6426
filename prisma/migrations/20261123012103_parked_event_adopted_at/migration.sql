-- AlterTable
ALTER TABLE "delivery_events" ADD COLUMN     "adopted_at" TIMESTAMPTZ(6);
