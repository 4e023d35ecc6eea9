-- SQLite twin of migrations/postgres/0005_pool.sql (a pool on SQLite is one process).

CREATE TABLE installation_leases (
    installation  TEXT PRIMARY KEY,
    holder        TEXT NOT NULL,
    acquired_at   TEXT NOT NULL,
    expires_at    TEXT NOT NULL
);
CREATE INDEX installation_leases_by_holder ON installation_leases (holder);

CREATE TABLE batch_permits (
    slot        INTEGER PRIMARY KEY,
    holder      TEXT,
    expires_at  TEXT
);
