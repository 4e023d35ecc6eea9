//! `linnstream operator`: the Kubernetes operator (leader-elected; see docs/operator.md).

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;

use crate::operator::metrics::{self, Metrics};
use crate::operator::settings::OperatorArgs;
use crate::operator::{self, RunError};

#[derive(Args, Debug)]
pub struct OperatorCommand {
    #[command(flatten)]
    pub settings: OperatorArgs,
}

/// Completes on SIGTERM (how Kubernetes stops a pod) or Ctrl-C.
pub(super) async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

pub fn run(args: OperatorCommand) -> anyhow::Result<ExitCode> {
    let config = args
        .settings
        .into_config()
        .map_err(|e| anyhow::anyhow!("invalid operator settings:\n{e}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let metrics = Arc::new(Metrics::new());
        let (addr, _server) = metrics::serve(
            metrics.clone(),
            config.metrics_listen,
            &config.children.system.http,
        )
        .await
        .with_context(|| format!("listening on {}", config.metrics_listen))?;
        tracing::info!("metrics on http://{addr}/metrics, health on http://{addr}/healthz");
        let kube_config = kube::Config::infer()
            .await
            .context("finding the Kubernetes API (in-cluster or KUBECONFIG)")?;
        let client = operator::counting_client(kube_config, metrics.clone())?;
        match operator::run(client, config, metrics, shutdown_signal()).await {
            Ok(()) => Ok(ExitCode::SUCCESS),
            Err(e @ RunError::LostLease(_)) => {
                // Exit so Kubernetes restarts the pod as a fresh candidate.
                eprintln!("error: {e}");
                Ok(ExitCode::from(3))
            }
            Err(e) => Err(e.into()),
        }
    })
}
