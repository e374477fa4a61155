-- CreateEnum
CREATE TYPE "order_status" AS ENUM ('pending', 'paid', 'shipped');

-- AlterTable: a constant default keeps this a metadata-only change, safe on a busy table.
ALTER TABLE "order" ADD COLUMN "status" "order_status" NOT NULL DEFAULT 'pending';
