//! What a platform team sees: the real processes' metrics, logs and readiness during a sync
//! (`processes`), and the chart's monitoring objects checked offline (`chart`).

#[path = "../support/mod.rs"]
mod support;

mod chart;
mod processes;
