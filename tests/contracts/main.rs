//! What linnstream promises outside its own code: the Linnworks and Stream clients against
//! the simulators (`linnworks`, `stream`, `sim_kit`), the curl walk-throughs in
//! docs/simulators.md (`linnworks_docs`, `stream_docs`), the README's commands
//! (`readme_run`) and the generated CRDs and examples (`crd_resources`).

#[path = "../support/mod.rs"]
mod support;

mod crd_resources;
mod linnworks;
mod linnworks_docs;
mod readme_run;
mod sim_kit;
mod stream;
mod stream_docs;
