//! The standalone process (`linnstream run`, and the demo): settings from files, the queue
//! store, the scheduler and one HTTP listener for every surface. Also used in-process by
//! tests, which is why it returns a handle instead of blocking.

pub(crate) mod subscriptions;

pub use subscriptions::{ensure as ensure_subscriptions, webhook_url};

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use axum::Router;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Snapshot;
use crate::config::files::load_dir;
use crate::remote::RemoteOptions;
use crate::server::admin::{AdminAuth, admin_router};
use crate::server::webhooks::{WebhookAuth, check_secret, webhook_router};
use crate::settings::SystemSettings;
use crate::store::Store;
use crate::sync::Engine;
use crate::sync::scheduler::{SchedulerOptions, run_scheduler};

/// Time allowed after the shutdown grace period for handing claims back.
const HAND_BACK_TIME: Duration = Duration::from_secs(5);

/// How often the settings folder is checked for changes.
const RELOAD_EVERY: Duration = Duration::from_secs(5);

#[derive(Clone, Debug)]
pub struct AppOptions {
    /// Folder of Installation, PostalServiceMapping and Secret YAML.
    pub config_dir: PathBuf,
    pub database_url: String,
    pub listen: SocketAddr,
    pub settings: SystemSettings,
    /// Run the nightly master-data jobs in-process.
    pub master_data: bool,
    /// Client options; `None`: from the settings (tests shorten retry delays).
    pub remote: Option<RemoteOptions>,
    /// Start the scheduler (the demo drives some jobs itself but still wants the loops).
    pub scheduler: bool,
    /// Tokens for the admin API and dashboard; `None`: neither is served.
    pub admin: Option<AdminAuth>,
    /// Secret the per-installation webhook tokens are derived from, at least 32 bytes;
    /// `None`: a random one, with Stream subscriptions renewed at start.
    pub webhook_secret: Option<String>,
}

/// A running app; dropping it does not stop it, `shutdown` does.
pub struct RunningApp {
    pub addr: SocketAddr,
    pub engine: Engine,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningApp {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops in order: no new claims, the listener stops taking requests, the sends under
    /// way get the shutdown grace period, the claims still held go back to the queue, and
    /// the store is closed (SQLite: checkpointed into the database file).
    pub async fn shutdown(self) {
        self.engine.stop().begin();
        let _ = self.shutdown.send(true);
        // The scheduler hands its claims back at the end of the grace period: give it a
        // moment beyond that to do so.
        let deadline =
            tokio::time::Instant::now() + self.engine.settings().shutdown_grace() + HAND_BACK_TIME;
        for mut task in self.tasks {
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                task.abort();
                let _ = task.await;
            }
        }
        // Claims of requests (manual sends, labels) the listener was still serving.
        self.engine.hand_back_claims().await;
        self.engine.store().close().await;
    }

    /// Resolves when the process is asked to stop (Ctrl-C or SIGTERM).
    pub async fn until_signal(self) {
        wait_for_signal().await;
        tracing::info!("stopping");
        self.shutdown().await;
    }
}

pub async fn start(options: AppOptions) -> anyhow::Result<RunningApp> {
    options
        .settings
        .validate()
        .map_err(|e| anyhow::anyhow!("system settings: {e}"))?;
    if let Some(secret) = &options.webhook_secret {
        check_secret(
            secret,
            "the webhook secret (--webhook-secret, LINNSTREAM_WEBHOOK_SECRET or --webhook-secret-file)",
        )
        .map_err(|e| anyhow::anyhow!(e))?;
    }
    let snapshot = load_dir(&options.config_dir)?;
    if snapshot.installations.is_empty() {
        anyhow::bail!(
            "{}: {} holds no Installation; see examples/installation.yaml",
            crate::sync::validation::ValidationError::NoActiveInstallations,
            options.config_dir.display()
        );
    }
    if snapshot.installations.values().all(|i| i.spec.suspend) {
        tracing::warn!(
            "{}: every Installation in {} is suspended; nothing is fetched or sent until one is resumed",
            crate::sync::validation::ValidationError::NoActiveInstallations,
            options.config_dir.display()
        );
    }
    let (config_tx, config_rx) = watch::channel(Arc::new(snapshot));
    let store = Store::connect(&options.database_url)
        .await
        .context("opening the queue database")?;
    let remote = options
        .remote
        .clone()
        .unwrap_or_else(|| RemoteOptions::from_settings(&options.settings));
    let engine = Engine::with_remote_options(store, options.settings.clone(), config_rx, remote);
    let (shutdown_tx, shutdown_rx) = watch::channel(false);

    let secret = options.webhook_secret.clone().unwrap_or_else(|| {
        use rand::RngCore as _;
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    });
    let webhook_auth = WebhookAuth::derived(secret);
    let readiness = crate::server::health::Readiness::new(engine.store().clone());
    let router = routes(
        &engine,
        webhook_auth.clone(),
        options.admin.clone(),
        readiness,
    );
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .with_context(|| format!("listening on {}", options.listen))?;
    let addr = listener.local_addr()?;
    let mut tasks = Vec::new();
    let mut stop = shutdown_rx.clone();
    let http = options.settings.http.clone();
    tasks.push(tokio::spawn(async move {
        let stopped = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        if let Err(e) = crate::server::serve(listener, router, &http, stopped).await {
            tracing::error!("HTTP server stopped: {e}");
        }
    }));
    // Subscribed only once the receiver listens, so Stream's first notification lands.
    subscriptions::ensure_all(&engine, &webhook_auth).await;
    if options.scheduler {
        let scheduler = SchedulerOptions {
            master_data: options.master_data,
            only: None,
            process: "run",
            ..SchedulerOptions::default()
        };
        tasks.push(tokio::spawn(run_scheduler(
            engine.clone(),
            scheduler,
            shutdown_rx.clone(),
        )));
    }
    let gauges_of = engine.clone();
    tasks.push(crate::store::gauges::spawn(
        engine.store().clone(),
        move || {
            gauges_of
                .installations()
                .iter()
                .map(|i| i.key.id())
                .collect()
        },
        shutdown_rx.clone(),
    ));
    tasks.push(tokio::spawn(reload_loop(
        options.config_dir.clone(),
        config_tx,
        shutdown_rx,
    )));
    tracing::info!(%addr, installations = engine.installations().len(), "linnstream is running");
    Ok(RunningApp {
        addr,
        engine,
        shutdown: shutdown_tx,
        tasks,
    })
}

/// Every HTTP surface of the standalone process, on one listener.
fn routes(
    engine: &Engine,
    webhook_auth: WebhookAuth,
    admin: Option<AdminAuth>,
    readiness: crate::server::health::Readiness,
) -> Router {
    let mut router = Router::new()
        .merge(crate::server::health::routes(readiness))
        .merge(webhook_router(engine.clone(), webhook_auth))
        .merge(crate::server::gateway::gateway_router(engine.clone()));
    match admin {
        Some(auth) => router = router.merge(admin_router(engine.clone(), auth)),
        None => tracing::warn!(
            "no admin token: the admin API and dashboard are not served (set --admin-token)"
        ),
    }
    crate::observe::http::traced(router)
}

/// Reloads the settings when a file in the folder changes. A folder that no longer checks
/// out keeps the last good settings running and says why.
pub(crate) async fn reload_loop(
    dir: PathBuf,
    tx: watch::Sender<Arc<Snapshot>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut seen = fingerprint(&dir);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(RELOAD_EVERY) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        let now = fingerprint(&dir);
        if now == seen {
            continue;
        }
        seen = now;
        match load_dir(&dir) {
            Ok(snapshot) => {
                tracing::info!(
                    installations = snapshot.installations.len(),
                    "settings reloaded from {}",
                    dir.display()
                );
                tx.send_replace(Arc::new(snapshot));
            }
            Err(e) => tracing::error!(
                "settings in {} not reloaded, the previous ones stay in force: {e}",
                dir.display()
            ),
        }
    }
}

/// Names, sizes and modification times of the YAML files under `dir`.
fn fingerprint(dir: &Path) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
    crate::crd::check::collect_files(dir, true)
        .unwrap_or_default()
        .into_iter()
        .map(|p| {
            let meta = std::fs::metadata(&p).ok();
            let size = meta.as_ref().map(|m| m.len()).unwrap_or(0);
            let modified = meta.and_then(|m| m.modified().ok());
            (p, size, modified)
        })
        .collect()
}

pub(crate) async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
