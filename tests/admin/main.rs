//! The admin API on real stores (PostgreSQL from LINNSTREAM_TEST_POSTGRES_URL, failing when
//! unreachable, and SQLite), with the Linnworks and Stream simulators behind the engine;
//! the dashboard's sign-in and CSRF rules; the `linnstream orders|audit|jobs` commands
//! against it; and the dashboard and console in headless Chromium (`browser`).

#[path = "../support/mod.rs"]
mod support;

mod browser;
mod cli;
mod console;
mod dashboard;
mod harness;
mod scenarios;
