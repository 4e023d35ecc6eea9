-- SQLite twin of migrations/postgres/0001_store.sql (same tables, columns and indexes).
-- Timestamps are RFC 3339 UTC text written by the application, which sorts in time order;
-- JSON columns hold JSON text. The lifecycle rules live in src/store/lifecycle.rs.

CREATE TABLE orders (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    installation          TEXT        NOT NULL,
    order_id              TEXT        NOT NULL,            -- Linnworks order GUID
    num_order_id          INTEGER,                          -- Linnworks numeric order id
    reference             TEXT,
    postal_service_id     TEXT,
    postal_service_name   TEXT,
    order_type            TEXT        NOT NULL DEFAULT 'Delivery',
    status                TEXT        NOT NULL,
    attempts              INTEGER      NOT NULL DEFAULT 0,  -- sends started (claims)
    last_http_status      INTEGER,
    last_error            TEXT,
    stream_order_id       TEXT,
    consignment_no        TEXT,
    tracking_number       TEXT,
    tracking_url          TEXT,
    snapshot              TEXT,
    version               INTEGER      NOT NULL DEFAULT 1,
    claim_owner           TEXT,
    claimed_from          TEXT,
    lease_expires_at      TEXT,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL,
    claimed_at            TEXT,
    completed_at          TEXT,
    failed_at             TEXT,
    validation_failed_at  TEXT,
    retry_ready_at        TEXT,
    released_at           TEXT,
    deleted_at            TEXT,
    UNIQUE (installation, order_id)
);
CREATE INDEX orders_claimable ON orders (installation, created_at, id)
    WHERE status IN ('Pending', 'ReadyForRetry');
CREATE INDEX orders_leased ON orders (lease_expires_at) WHERE status = 'InProgress';
CREATE INDEX orders_by_status ON orders (installation, status, created_at);
CREATE INDEX orders_by_consignment ON orders (installation, consignment_no);
CREATE INDEX orders_by_num ON orders (installation, num_order_id);

CREATE TABLE webhook_events (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    installation      TEXT        NOT NULL,
    dedup_key         TEXT        NOT NULL,
    received_at       TEXT NOT NULL,
    body              TEXT        NOT NULL,
    event_code        TEXT        NOT NULL,
    consignment_no    TEXT,
    order_no          TEXT,
    run               TEXT,
    grp               TEXT,
    status            TEXT        NOT NULL,
    retry_count       INTEGER      NOT NULL DEFAULT 0,
    last_error        TEXT,
    version           INTEGER      NOT NULL DEFAULT 1,
    claim_owner       TEXT,
    lease_expires_at  TEXT,
    claimed_at        TEXT,
    processed_at      TEXT,
    updated_at        TEXT NOT NULL,
    UNIQUE (installation, dedup_key)
);
CREATE INDEX webhook_events_open ON webhook_events (installation, id)
    WHERE status IN ('Pending', 'ReadyForRetry');

-- The orders an event concerns: events sharing a reference are handed out in arrival order.
CREATE TABLE webhook_event_refs (
    event_id      INTEGER NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    installation  TEXT   NOT NULL,
    order_ref     TEXT   NOT NULL,
    PRIMARY KEY (event_id, order_ref)
);
CREATE INDEX webhook_event_refs_by_ref ON webhook_event_refs (installation, order_ref, event_id);

CREATE TABLE audit_log (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    at              TEXT NOT NULL,
    installation    TEXT        NOT NULL,
    order_id        TEXT,
    correlation_id  TEXT        NOT NULL,
    action          TEXT        NOT NULL,
    outcome         TEXT        NOT NULL,
    message         TEXT        NOT NULL,
    duration_ms     INTEGER      NOT NULL,
    actor           TEXT        NOT NULL
);
CREATE INDEX audit_log_by_installation ON audit_log (installation, at);
CREATE INDEX audit_log_by_order ON audit_log (installation, order_id, at);
CREATE INDEX audit_log_by_correlation ON audit_log (correlation_id);
CREATE INDEX audit_log_by_time ON audit_log (at);

CREATE TABLE md_depots (
    installation  TEXT NOT NULL,
    depot_id      TEXT NOT NULL,
    name          TEXT NOT NULL,
    PRIMARY KEY (installation, depot_id)
);

CREATE TABLE md_delivery_methods (
    installation  TEXT NOT NULL,
    depot_id      TEXT NOT NULL,
    method_id     TEXT NOT NULL,
    name          TEXT NOT NULL,
    method_type   TEXT NOT NULL,
    PRIMARY KEY (installation, depot_id, method_id)
);

CREATE TABLE md_identifiers (
    installation   TEXT NOT NULL,
    tag            TEXT NOT NULL,
    name           TEXT NOT NULL,
    identifier_id  INTEGER,
    PRIMARY KEY (installation, tag)
);

CREATE TABLE md_postal_services (
    installation        TEXT NOT NULL,
    service_id          TEXT NOT NULL,
    name                TEXT NOT NULL,
    vendor              TEXT NOT NULL,
    depot_id            TEXT,
    delivery_method_id  TEXT,
    PRIMARY KEY (installation, service_id)
);

CREATE TABLE md_syncs (
    installation  TEXT        NOT NULL,
    kind          TEXT        NOT NULL,
    synced_at     TEXT NOT NULL,
    PRIMARY KEY (installation, kind)
);

CREATE TABLE job_runs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    installation  TEXT        NOT NULL,
    job           TEXT        NOT NULL,
    started_at    TEXT NOT NULL,
    finished_at   TEXT,
    outcome       TEXT        NOT NULL,
    message       TEXT        NOT NULL DEFAULT ''
);
CREATE INDEX job_runs_latest ON job_runs (installation, job, started_at DESC, id DESC);

CREATE TABLE job_schedule (
    installation  TEXT        NOT NULL,
    job           TEXT        NOT NULL,
    next_run_at   TEXT NOT NULL,
    PRIMARY KEY (installation, job)
);

CREATE TABLE worker_heartbeats (
    worker_id     TEXT        PRIMARY KEY,
    process       TEXT        NOT NULL,
    installation  TEXT,
    started_at    TEXT NOT NULL,
    last_beat_at  TEXT NOT NULL
);
CREATE INDEX worker_heartbeats_by_beat ON worker_heartbeats (last_beat_at);
