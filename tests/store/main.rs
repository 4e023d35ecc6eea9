//! The store on real databases: the lifecycle suite on PostgreSQL and SQLite, concurrent
//! claimers, migrators racing, a claimer process killed mid-claim, and `linnstream migrate`.
//! PostgreSQL comes from LINNSTREAM_TEST_POSTGRES_URL (scripts/test.sh starts one); these
//! tests fail when it is unreachable.

#[path = "../support/mod.rs"]
mod support;

mod cli;
mod concurrency;
mod crash;
mod seed;
mod suite;
mod upgrade;
