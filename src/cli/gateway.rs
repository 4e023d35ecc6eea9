//! `linnstream gateway`: the Linnworks shipping-integration endpoints (and `/healthz`) for
//! every Installation in a folder, without the scheduler or the other surfaces. The folder
//! is re-read when its files change, as `linnstream run` does.
//!
//! [`serve_surface`] is shared with `linnstream console`: both are one HTTP surface over
//! the shared queue database for every Installation, fed live from the same settings.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use clap::Args;
use tokio::sync::watch;

use crate::config::files::load_dir;
use crate::config::secret::SecretSource;
use crate::server::gateway::gateway_router;
use crate::settings::SystemSettings;
use crate::store::Store;
use crate::sync::Engine;

use super::run::DEFAULT_DATABASE_URL;

#[derive(Args, Debug)]
pub struct GatewayArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Address of the HTTP listener.
    #[arg(long, env = "LINNSTREAM_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub settings: SystemSettings,
}

/// Where the gateway and the console learn their Installations: a folder, or (in a
/// cluster) the config Secret the operator maintains, watched through the API.
#[derive(Args, Debug)]
pub struct ConfigArgs {
    /// Folder of Installation, PostalServiceMapping and Secret YAML (sub-folders too): the
    /// files `linnstream run` reads; re-read when they change.
    #[arg(
        short = 'f',
        long = "filename",
        required_unless_present = "config_secret",
        conflicts_with = "config_secret"
    )]
    pub config_dir: Option<PathBuf>,
    /// The config Secret the operator maintains (`operator --config-secret-name`), watched
    /// through the Kubernetes API: changes apply within seconds.
    #[arg(long, env = "LINNSTREAM_CONFIG_SECRET")]
    pub config_secret: Option<String>,
    /// Its namespace (default: the namespace of the kubeconfig context, or the pod's own).
    #[arg(
        long,
        env = "LINNSTREAM_CONFIG_SECRET_NAMESPACE",
        requires = "config_secret"
    )]
    pub config_secret_namespace: Option<String>,
}

/// What keeps a process's settings fresh: the folder's reload task, or the Secret's watch.
pub(super) enum ConfigFeed {
    Folder(tokio::task::JoinHandle<()>),
    Secret(SecretSource),
}

impl ConfigFeed {
    /// Waits for the folder's reload task to see the shutdown; stops the Secret's watch.
    pub(super) async fn finish(self) {
        match self {
            ConfigFeed::Folder(task) => {
                let _ = task.await;
            }
            ConfigFeed::Secret(source) => drop(source),
        }
    }
}

impl ConfigArgs {
    /// Loads the settings and keeps them fresh until `shutdown`: the folder re-read when
    /// its files change, or the config Secret watched. `require_some`: a folder without
    /// any Installation is refused (a typo, most likely).
    pub(super) async fn open(
        &self,
        shutdown: watch::Receiver<bool>,
        require_some: bool,
    ) -> anyhow::Result<(crate::config::SnapshotReceiver, ConfigFeed)> {
        match (&self.config_dir, &self.config_secret) {
            (Some(dir), _) => {
                let snapshot = load_dir(dir)?;
                if require_some && snapshot.installations.is_empty() {
                    anyhow::bail!(
                        "{} holds no Installation; see examples/installation.yaml",
                        dir.display()
                    );
                }
                let (config_tx, config_rx) = watch::channel(Arc::new(snapshot));
                let reload =
                    tokio::spawn(crate::app::reload_loop(dir.clone(), config_tx, shutdown));
                Ok((config_rx, ConfigFeed::Folder(reload)))
            }
            (None, Some(name)) => {
                let kube_config = kube::Config::infer()
                    .await
                    .context("finding the Kubernetes API (in-cluster or KUBECONFIG)")?;
                let namespace = self
                    .config_secret_namespace
                    .clone()
                    .unwrap_or_else(|| kube_config.default_namespace.clone());
                let client = kube::Client::try_from(kube_config)?;
                let source =
                    SecretSource::start(client, &namespace, name, CONFIG_SECRET_WAIT).await?;
                Ok((source.receiver(), ConfigFeed::Secret(source)))
            }
            (None, None) => anyhow::bail!("--filename or --config-secret is required"),
        }
    }
}

/// How long a process waits for the API server's first answer about the config Secret.
const CONFIG_SECRET_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// The queue database of the gateway and the console.
#[derive(Args, Debug)]
pub struct DatabaseArgs {
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
}

impl DatabaseArgs {
    pub fn url(&self) -> anyhow::Result<String> {
        Ok(crate::config::secret_args::value_or_file(
            Some(self.database_url.clone()),
            self.database_url_file.as_deref(),
            "--database-url-file",
        )?
        .unwrap_or_default())
    }
}

pub fn run(args: GatewayArgs) -> anyhow::Result<ExitCode> {
    let surface = Surface {
        process: "gateway",
        config: args.config,
        database: args.database,
        listen: args.listen,
        settings: args.settings,
    };
    surface.run(gateway_router)
}

/// One HTTP surface for every Installation in a folder: what `gateway` and `console` share.
pub(super) struct Surface {
    /// The command, as named in messages.
    pub process: &'static str,
    pub config: ConfigArgs,
    pub database: DatabaseArgs,
    pub listen: SocketAddr,
    pub settings: SystemSettings,
}

impl Surface {
    /// Checks the arguments, then serves `router(engine)` with `/healthz`, `/readyz` and
    /// `/metrics` until a signal.
    pub fn run(self, router: impl FnOnce(Engine) -> Router) -> anyhow::Result<ExitCode> {
        if let Some(dir) = &self.config.config_dir
            && !dir.is_dir()
        {
            anyhow::bail!("{}: no such folder", dir.display());
        }
        self.settings
            .validate()
            .map_err(|e| anyhow::anyhow!("system settings: {e}"))?;
        let runtime = tokio::runtime::Runtime::new()?;
        runtime.block_on(self.serve(router))
    }

    async fn serve(self, router: impl FnOnce(Engine) -> Router) -> anyhow::Result<ExitCode> {
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let (config_rx, feed) = self.config.open(shutdown_rx.clone(), true).await?;
        let snapshot = config_rx.borrow().clone();
        let installations = snapshot.installations.len();
        let without_token = snapshot
            .installations
            .values()
            .filter(|i| i.credentials.gateway_token.is_none())
            .count();
        if without_token > 0 && self.process == "gateway" {
            tracing::warn!(
                "{without_token} installation(s) have no spec.shippingIntegration.authorizationToken: \
                 Linnworks cannot call the gateway for them"
            );
        }
        let store = Store::connect(&self.database.url()?)
            .await
            .context("opening the queue database")?;
        let readiness = crate::server::health::Readiness::new(store.clone());
        let http = self.settings.http.clone();
        let engine = Engine::new(store, self.settings, config_rx);
        let router = crate::observe::http::traced(
            router(engine.clone()).merge(crate::server::health::routes(readiness)),
        );
        let listener = tokio::net::TcpListener::bind(self.listen)
            .await
            .with_context(|| format!("listening on {}", self.listen))?;
        let addr = listener.local_addr()?;
        crate::observe::logs::banner(&format!(
            "linnstream {} is serving {installations} installation(s) on http://{addr}; Ctrl-C stops it",
            self.process
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
        feed.finish().await;
        let stopped_early = early.is_some();
        let result = match early {
            Some(result) => result,
            None => server.await,
        };
        // Labels being sent when the process stopped: their orders go back to the queue
        // now, and SQLite is checkpointed into its file.
        engine.hand_back_claims().await;
        engine.store().close().await;
        result
            .context("the HTTP server task failed")?
            .context("the HTTP server stopped")?;
        if stopped_early {
            anyhow::bail!("the HTTP server stopped unexpectedly");
        }
        Ok(ExitCode::SUCCESS)
    }
}
