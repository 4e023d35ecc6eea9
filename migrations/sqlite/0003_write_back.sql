-- SQLite twin of migrations/postgres/0003_write_back.sql (same column, backfill and index).

ALTER TABLE orders ADD COLUMN written_back_at TEXT;
UPDATE orders SET written_back_at = COALESCE(completed_at, updated_at) WHERE status = 'Completed';
CREATE INDEX orders_write_back_pending ON orders (installation, updated_at, id)
    WHERE status = 'Completed' AND written_back_at IS NULL;
