//! The shipping-integration gateway: every endpoint over HTTP on both backends
//! (`endpoints`), its replies against Linnworks' contract (`contract`), `linnstream gateway`
//! as a process (`processes`) and the labels it renders (`labels`).
#![recursion_limit = "256"]

#[path = "../support/mod.rs"]
mod support;

mod contract;
mod endpoints;
mod labels;
mod processes;
