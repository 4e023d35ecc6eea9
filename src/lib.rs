//! linnstream: the Linnworks-to-Stream shipping integration.
//!
//! Layers, each ignorant of the ones above it (see README):
//! `crd` (resource types) -> `linnworks`, `stream` (API clients) -> `store` (queue) ->
//! `sync` (jobs) -> surfaces (`cli`, servers, operator); `sim` simulates the remote APIs.

pub mod app;
pub mod cli;
pub mod config;
pub mod crd;
pub mod gateway;
pub mod labels;
pub mod linnworks;
pub mod observe;
pub mod operator;
pub mod remote;
pub mod server;
pub mod settings;
pub mod sim;
pub mod store;
pub mod stream;
pub mod sync;
