//! Simulators of the remote APIs (Linnworks, Stream), for the demo, the tests and the
//! benchmarks; never used by production paths. `kit` holds what every simulator shares.

pub mod kit;
pub mod linnworks;
pub mod stream;
pub mod world;
