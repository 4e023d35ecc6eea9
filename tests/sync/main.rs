//! The sync engine end to end through both simulators, on PostgreSQL and on SQLite: orders
//! fetched from Linnworks, validated, created in Stream, tracking written back; failures,
//! retries, manual resend and delete; a lost reply that must not double-create; a failed
//! write-back to Linnworks retried by a later cycle; what Stream receives for each option;
//! the guide's rules; master data; Stream's webhooks and the receiver's group commit; and
//! `linnstream run` as real processes killed and restarted.

#[path = "../support/mod.rs"]
mod support;

mod guide_rules;
mod lifecycle;
mod master_data;
mod processes;
mod stream_body;
mod webhook_ingest;
mod webhooks;
mod write_back;
