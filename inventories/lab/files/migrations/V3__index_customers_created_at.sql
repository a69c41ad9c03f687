-- golive:no-transaction
-- Built without locking writes; safe to run again.
CREATE INDEX CONCURRENTLY IF NOT EXISTS customers_created_at_idx ON customers (created_at);
