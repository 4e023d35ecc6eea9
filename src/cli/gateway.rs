//! `linnstream gateway`: the Linnworks shipping-integration endpoints (and `/healthz`) for
//! every Installation in a folder, without the scheduler or the other surfaces. The folder
//! is re-read when its files change, as `linnstream run` does.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use tokio::sync::watch;

use crate::config::files::load_dir;
use crate::gateway::gateway_router;
use crate::settings::SystemSettings;
use crate::store::Store;
use crate::sync::Engine;

use super::run::DEFAULT_DATABASE_URL;

#[derive(Args, Debug)]
pub struct GatewayArgs {
    /// Folder of Installation, PostalServiceMapping and Secret YAML (sub-folders too): the
    /// files `linnstream run` reads.
    #[arg(short = 'f', long = "filename")]
    pub config_dir: PathBuf,
    /// Queue database: `sqlite:FILE` or `postgres://...` (the one the workers use).
    #[arg(long, env = "LINNSTREAM_DATABASE_URL", default_value = DEFAULT_DATABASE_URL, hide_env_values = true)]
    pub database_url: String,
    /// File holding the queue database URL (keeps its password off the command line).
    #[arg(
        long,
        env = "LINNSTREAM_DATABASE_URL_FILE",
        conflicts_with = "database_url"
    )]
    pub database_url_file: Option<PathBuf>,
    /// Address of the HTTP listener.
    #[arg(long, env = "LINNSTREAM_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub settings: SystemSettings,
}

pub fn run(args: GatewayArgs) -> anyhow::Result<ExitCode> {
    if !args.config_dir.is_dir() {
        anyhow::bail!("{}: no such folder", args.config_dir.display());
    }
    args.settings
        .validate()
        .map_err(|e| anyhow::anyhow!("system settings: {e}"))?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(serve(args))
}

async fn serve(args: GatewayArgs) -> anyhow::Result<ExitCode> {
    let snapshot = load_dir(&args.config_dir)?;
    let installations = snapshot.installations.len();
    if installations == 0 {
        anyhow::bail!(
            "{} holds no Installation; see examples/installation.yaml",
            args.config_dir.display()
        );
    }
    let without_token = snapshot
        .installations
        .values()
        .filter(|i| i.credentials.gateway_token.is_none())
        .count();
    if without_token > 0 {
        tracing::warn!(
            "{without_token} installation(s) have no spec.shippingIntegration.authorizationToken: \
             Linnworks cannot call the gateway for them"
        );
    }
    let (config_tx, config_rx) = watch::channel(Arc::new(snapshot));
    let database_url = super::secrets::value_or_file(
        Some(args.database_url.clone()),
        args.database_url_file.as_deref(),
        "--database-url-file",
    )?
    .unwrap_or_default();
    let store = Store::connect(&database_url)
        .await
        .context("opening the queue database")?;
    let readiness = crate::observe::health::Readiness::new(store.clone());
    let http = args.settings.http.clone();
    let engine = Engine::new(store, args.settings, config_rx);
    let router = crate::observe::http::traced(
        gateway_router(engine.clone()).merge(crate::observe::health::routes(readiness)),
    );
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let reload = tokio::spawn(crate::app::reload_loop(
        args.config_dir.clone(),
        config_tx,
        shutdown_rx.clone(),
    ));
    crate::observe::logs::banner(&format!(
        "linnstream gateway is serving {installations} installation(s) on http://{addr}; Ctrl-C stops it"
    ));
    let mut stop = shutdown_rx;
    let mut server = tokio::spawn(async move {
        crate::server::serve(listener, router, &http, async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .await
    });
    let early = tokio::select! {
        () = crate::app::wait_for_signal() => {
            tracing::info!("stopping");
            None
        }
        result = &mut server => Some(result),
    };
    engine.stop().begin();
    let _ = shutdown_tx.send(true);
    let _ = reload.await;
    let stopped_early = early.is_some();
    let result = match early {
        Some(result) => result,
        None => server.await,
    };
    // Labels being sent when the process stopped: their orders go back to the queue now,
    // and SQLite is checkpointed into its file.
    crate::sync::stop::hand_back_claims(&engine).await;
    engine.store().close().await;
    result
        .context("the HTTP server task failed")?
        .context("the HTTP server stopped")?;
    if stopped_early {
        anyhow::bail!("the HTTP server stopped unexpectedly");
    }
    Ok(ExitCode::SUCCESS)
}
