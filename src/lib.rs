//! linnstream: the Linnworks-to-Stream shipping integration.
//!
//! Layers, each importing only the ones below it (README, "Layout"):
//!
//! 0. [`domain`]: the business's words as types (installation keys, order statuses and
//!    types, the lifecycle, event codes, label types, jobs and schedules, identifiers,
//!    webhook paths), with no kube, sqlx or axum.
//! 1. [`crd`] (the resources), [`settings`] (system settings), [`labels`] (label rendering,
//!    pure functions).
//! 2. [`remote`], [`linnworks`], [`stream`]: the API clients and Stream's notification format.
//! 3. [`store`] (the queue and everything kept in the database), [`config`] (where an
//!    installation's settings come from: files or the Kubernetes API).
//! 4. [`sync`]: the jobs, as plain async functions over (config, clients, store).
//! 5. Surfaces: [`server`] (every HTTP surface: the webhook receiver, the shipping-integration
//!    gateway, the admin console, health and metrics, listeners), [`operator`], [`app`] (the
//!    standalone process), [`cli`].
//! 6. [`sim`]: simulators of the remote APIs for the demo, tests and benchmarks.
//!
//! [`observe`] (logs, metrics, traces) imports only [`domain`], so every layer above it can
//! count and log through it.

pub mod app;
pub mod cli;
pub mod config;
pub mod crd;
pub mod domain;
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
