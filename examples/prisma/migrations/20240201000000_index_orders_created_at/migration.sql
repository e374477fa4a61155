-- Built without blocking writes; must be the only statement in its file.
CREATE INDEX CONCURRENTLY "order_created_at_idx" ON "order"("created_at");
