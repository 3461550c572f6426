-- AlterTable
ALTER TABLE "notifications" ADD COLUMN     "send_error" JSONB;
