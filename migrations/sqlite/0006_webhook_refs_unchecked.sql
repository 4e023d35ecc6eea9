-- PostgreSQL drops the foreign key of webhook_event_refs here (its check cost a query per
-- reference on the ingest path). SQLite keeps it: its check is a cheap index probe, and
-- dropping it would mean rebuilding the table. Pruning deletes references itself either way.
SELECT 1;
