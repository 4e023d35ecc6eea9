-- The write-back of a sent order to Linnworks (tracking number, StreamTrackingURL, Sent to
-- Stream identifier) as durable state: `written_back_at` is NULL while a Completed order's
-- write-back is pending, so a failed or interrupted write-back is retried by a later send
-- cycle instead of being lost. Orders completed before this migration were written back (or
-- logged as not) by the version that sent them: they count as written back at completion.

ALTER TABLE orders ADD COLUMN written_back_at TIMESTAMPTZ;
UPDATE orders SET written_back_at = COALESCE(completed_at, updated_at) WHERE status = 'Completed';
CREATE INDEX orders_write_back_pending ON orders (installation, updated_at, id)
    WHERE status = 'Completed' AND written_back_at IS NULL;
