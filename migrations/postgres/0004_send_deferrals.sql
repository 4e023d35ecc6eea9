-- Sends that ended in a transient Stream failure (Stream down, timing out, 5xx, 429): the
-- order went back to the queue and the send does not count against MaxRetryAttempts.
-- `attempts` still counts every send started, which is what tells the next send to look the
-- order up in Stream first (a timed-out create may have landed).

ALTER TABLE orders ADD COLUMN deferrals BIGINT NOT NULL DEFAULT 0;
