-- SQLite twin of migrations/postgres/0002_manifests.sql (same table, columns and indexes).

CREATE TABLE manifests (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    installation  TEXT    NOT NULL,
    reference     TEXT    NOT NULL,
    created_at    TEXT    NOT NULL,
    entries       TEXT    NOT NULL,
    UNIQUE (installation, reference)
);
CREATE INDEX manifests_by_time ON manifests (installation, created_at);
