-- The shared worker pool (docs/pool.md): which worker holds each installation, and the
-- MaxInstallationsPerBatch permits every pooled worker shares.

-- One row per installation someone works on. A pooled worker (or a dedicated one: they
-- honour it too) works on an installation only while its row names it and has not
-- expired; a holder that stops renewing loses it after one lease period.
CREATE TABLE installation_leases (
    installation  TEXT        PRIMARY KEY,
    holder        TEXT        NOT NULL,
    acquired_at   TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX installation_leases_by_holder ON installation_leases (holder);

-- MaxInstallationsPerBatch slots: slot N is free when holder is NULL or expired. A job
-- takes a slot below the limit before it runs; a dead worker's slots expire with its
-- lease period.
CREATE TABLE batch_permits (
    slot        BIGINT      PRIMARY KEY,
    holder      TEXT,
    expires_at  TIMESTAMPTZ
);
