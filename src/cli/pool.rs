//! `linnstream pool-worker` and `linnstream pool-webhooks`: the shared worker pool
//! (docs/pool.md). Any number of pool workers share the pooled Installations through leases
//! in the queue database; one receiver serves every pooled installation's webhook path with
//! its own token. Both learn the Installations live from the operator's config Secret (or a
//! folder, outside a cluster).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use tokio::sync::watch;

use super::gateway::{ConfigArgs, DatabaseArgs};
use crate::domain::schedule::parse_duration;
use crate::observe;
use crate::operator::build::env;
use crate::server::health;
use crate::server::webhooks::{WebhookAuth, webhook_router};
use crate::settings::SystemSettings;
use crate::store::Store;
use crate::sync::Engine;
use crate::sync::pool::{PoolOptions, pooled, run_pool};

/// The installation lease every worker honours, dedicated or pooled.
#[derive(Args, Debug, Clone)]
pub struct LeaseArgs {
    /// How long a worker's hold on an installation lasts without renewal (renewed every
    /// third of it). A dead worker's installations are taken over after at most this plus
    /// a third. Every worker of one database must use the same value.
    #[arg(long = "lease-duration", env = env::LEASE_DURATION, default_value = "15s",
          value_parser = lease_duration)]
    pub lease_duration: Duration,
}

fn lease_duration(text: &str) -> Result<Duration, String> {
    let d = parse_duration(text)?;
    if d < Duration::from_secs(3) || d > Duration::from_secs(600) {
        return Err(format!("{text}: must be between 3s and 10m"));
    }
    Ok(d)
}

#[derive(Args, Debug)]
pub struct PoolWorkerArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub lease: LeaseArgs,
    /// This worker's name in leases and heartbeats, unique among the pool's workers
    /// (default: the pod name, else the host name and process id).
    #[arg(long, env = env::POD_NAME)]
    pub member_id: Option<String>,
    /// Where `/healthz`, `/readyz` and `/metrics` are served.
    #[arg(long, default_value = "0.0.0.0:8081")]
    pub health_listen: SocketAddr,
    #[command(flatten)]
    pub settings: SystemSettings,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn member_id(given: Option<String>) -> String {
    given.filter(|m| !m.trim().is_empty()).unwrap_or_else(|| {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".into());
        format!("{host}-{}", std::process::id())
    })
}

async fn serve_health(
    addr: SocketAddr,
    store: &Store,
    http: &crate::settings::HttpSettings,
) -> anyhow::Result<()> {
    let router = observe::http::traced(health::routes(health::Readiness::new(store.clone())));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on {addr} (health)"))?;
    let bound = listener.local_addr()?;
    let http = http.clone();
    tokio::spawn(async move {
        if let Err(e) = crate::server::serve(listener, router, &http, std::future::pending()).await
        {
            tracing::error!("the {bound} listener stopped: {e}");
        }
    });
    tracing::info!("health on http://{bound}/healthz and /readyz, metrics on /metrics");
    Ok(())
}

/// Turns true on SIGTERM or Ctrl-C.
fn stop_on_signal() -> (watch::Sender<bool>, watch::Receiver<bool>) {
    let (tx, rx) = watch::channel(false);
    let signal_tx = tx.clone();
    tokio::spawn(async move {
        crate::app::wait_for_signal().await;
        let _ = signal_tx.send(true);
    });
    (tx, rx)
}

/// One worker of the pool, until SIGTERM: then its schedulers stop in order and its
/// leases go back, so the others take its installations over at once.
pub fn worker(args: PoolWorkerArgs) -> anyhow::Result<ExitCode> {
    args.settings
        .validate()
        .map_err(|e| anyhow::anyhow!("system settings: {e}"))?;
    // One runtime in this process: the installations may share HTTP clients.
    crate::remote::share_http_clients();
    runtime()?.block_on(async {
        let (_tx, shutdown) = stop_on_signal();
        let (config, feed) = args.config.open(shutdown.clone(), false).await?;
        let store = Store::connect(&args.database.url()?)
            .await
            .context("connecting to the queue database")?;
        serve_health(args.health_listen, &store, &args.settings.http).await?;
        let ids: Vec<String> = {
            let snapshot = config.borrow();
            pooled(&snapshot).iter().map(|k| k.id()).collect()
        };
        // Never stopped: the process ends with it (a dropped sender means no stop).
        let (_, forever) = watch::channel(false);
        let gauges_store = store.clone();
        let gauges_config = config.clone();
        crate::store::gauges::spawn(
            gauges_store,
            move || {
                pooled(&gauges_config.borrow())
                    .iter()
                    .map(|k| k.id())
                    .collect()
            },
            forever,
        );
        tracing::info!(pooled = ids.len(), "pooled installations known at start");
        let options = PoolOptions {
            member_id: member_id(args.member_id),
            lease: args.lease.lease_duration,
            loop_process: env::WORKER_PROCESS,
        };
        run_pool(store.clone(), args.settings, config, options, shutdown)
            .await
            .context("running the pool worker")?;
        feed.finish().await;
        store.close().await;
        Ok(ExitCode::SUCCESS)
    })
}

#[derive(Args, Debug)]
pub struct PoolWebhooksArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Where Stream's webhook calls are received (`POST /webhooks/{namespace}/{name}`).
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,
    /// Where `/healthz`, `/readyz` and `/metrics` are served.
    #[arg(long, default_value = "0.0.0.0:8081")]
    pub health_listen: SocketAddr,
    #[command(flatten)]
    pub settings: SystemSettings,
}

/// The webhook receiver of every pooled installation, each path with its own token (from
/// the config Secret: the operator writes the tokens of pooled installations only).
pub fn webhooks(args: PoolWebhooksArgs) -> anyhow::Result<ExitCode> {
    args.settings
        .validate()
        .map_err(|e| anyhow::anyhow!("system settings: {e}"))?;
    runtime()?.block_on(async {
        let (_tx, mut shutdown) = stop_on_signal();
        let (config, feed) = args.config.open(shutdown.clone(), false).await?;
        let store = Store::connect(&args.database.url()?)
            .await
            .context("connecting to the queue database")?;
        serve_health(args.health_listen, &store, &args.settings.http).await?;
        let tokens = config.clone();
        let auth = WebhookAuth::new(move |key| tokens.borrow().webhook_tokens.get(key));
        let http = args.settings.http.clone();
        let grace = args.settings.shutdown_grace();
        let engine = Engine::new(store.clone(), args.settings, config);
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("listening on {} (webhooks)", args.listen))?;
        let bound = listener.local_addr()?;
        tracing::info!("receiving Stream webhooks of every pooled installation on http://{bound}");
        let mut stop = shutdown.clone();
        let server = crate::server::serve(
            listener,
            observe::http::traced(webhook_router(engine.clone(), auth)),
            &http,
            async move {
                let _ = stop.wait_for(|s| *s).await;
            },
        );
        let mut server = std::pin::pin!(server);
        let ended = tokio::select! {
            result = &mut server => Some(result),
            _ = shutdown.wait_for(|s| *s) => None,
        };
        if let Some(result) = ended {
            result.context("the webhooks listener stopped")?;
        } else if tokio::time::timeout(grace, server).await.is_err() {
            tracing::warn!("webhook calls still open after the grace period were cut off");
        }
        feed.finish().await;
        store.close().await;
        Ok(ExitCode::SUCCESS)
    })
}
