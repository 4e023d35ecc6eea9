-- Manifests (Linnworks' CreateManifest / PrintManifest): the consignments of a set of orders
-- handed to the carrier together. `entries` is the list as it was when the manifest was
-- created (order, reference, consignment, tracking number, postcode, service), so a manifest
-- prints the same later even if the orders change.

CREATE TABLE manifests (
    id            BIGSERIAL PRIMARY KEY,
    installation  TEXT        NOT NULL,
    reference     TEXT        NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    entries       JSONB       NOT NULL,
    UNIQUE (installation, reference)
);
CREATE INDEX manifests_by_time ON manifests (installation, created_at);
