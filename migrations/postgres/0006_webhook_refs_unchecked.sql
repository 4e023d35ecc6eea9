-- Webhook ingest stores an event and its order references in one statement
-- (src/store/webhooks.rs), so a reference can only point at its own event; the foreign
-- key's check still ran one query per reference on that hot path. Pruning deletes an
-- event's references itself (Store::prune_webhook_events).
ALTER TABLE webhook_event_refs DROP CONSTRAINT IF EXISTS webhook_event_refs_event_id_fkey;
