//! The reliability suite: what a bad day in production does to linnstream, asserted as a
//! user would check it in Linnworks and Stream. Poisoned orders and inputs, Stream
//! outages, webhook floods, hostile and slow callers, crashes and shutdowns. On PostgreSQL
//! (a fresh database per test, failing when PostgreSQL is unreachable) and SQLite where the
//! store is involved.

#[path = "../support/mod.rs"]
mod support;

/// Limits, timeouts, error classes and webhook authentication on every listener.
mod ingress;
/// Crashes (SIGKILL), shutdowns (SIGTERM), retention and SQLite backups.
mod lifecycle;
/// Stream outages: transient failures back off behind a circuit breaker.
mod outage;
/// Orders and inputs that cannot be stored as they are.
mod poison;
/// Webhook backlogs drain fairly across installations and orders.
mod webhook_drain;
/// Acknowledged notifications survive a SIGKILL of the receiver under load.
mod webhook_ingest;
