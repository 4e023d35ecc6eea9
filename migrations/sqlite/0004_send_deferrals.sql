-- SQLite twin of migrations/postgres/0004_send_deferrals.sql.

ALTER TABLE orders ADD COLUMN deferrals INTEGER NOT NULL DEFAULT 0;
