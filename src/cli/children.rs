//! `linnstream worker`, `linnstream webhooks` and `linnstream master-data`: the processes
//! the operator runs for one Installation (see docs/operator.md). Settings come live from
//! the Kubernetes API (`config::cluster`, as the Installation's config-reader ServiceAccount,
//! or whatever `KUBECONFIG` says outside a cluster); credentials and the database URL come
//! from the environment the pod spec sets from Secrets.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use axum::Router;
use clap::{Args, ValueEnum};
use tokio::sync::watch;

use crate::config::cluster::KubeSource;
use crate::config::{Credentials, SnapshotReceiver};
use crate::domain::InstallationKey;
use crate::domain::Job;
use crate::domain::JobOutcome;
use crate::domain::schedule::parse_duration;
use crate::observe;
use crate::operator::build::env;
use crate::server::health::{self, Readiness};
use crate::server::webhooks::{WebhookAuth, check_secret, webhook_router};
use crate::settings::HttpSettings;
use crate::settings::SystemSettings;
use crate::store::Store;
use crate::sync::Engine;
use crate::sync::permits::Permits;
use crate::sync::pool::DedicatedLease;
use crate::sync::scheduler::{HEARTBEAT_INTERVAL, SchedulerOptions, run_job, run_scheduler};

/// The Installation a process works for, and where its queue is.
#[derive(Args, Debug, Clone)]
pub struct Target {
    /// The Installation's name.
    #[arg(long)]
    pub installation: String,
    /// The Installation's namespace.
    #[arg(long)]
    pub namespace: String,
    /// The queue database (PostgreSQL).
    #[arg(
        long,
        env = env::DATABASE_URL,
        hide_env_values = true,
        required_unless_present = "database_url_file"
    )]
    pub database_url: Option<String>,
    /// File holding the queue database URL, instead of `--database-url`.
    #[arg(
        long,
        env = "LINNSTREAM_DATABASE_URL_FILE",
        conflicts_with = "database_url"
    )]
    pub database_url_file: Option<std::path::PathBuf>,
    /// How long to wait for the first read of the settings from the Kubernetes API.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub settings_timeout: Duration,
    #[command(flatten)]
    pub system: SystemSettings,
}

/// What every one of these processes holds: the live settings and the engine over them.
struct Connected {
    key: InstallationKey,
    // Kept: dropping it stops the watch.
    _source: KubeSource,
    settings: SnapshotReceiver,
    engine: Engine,
}

fn variable(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

async fn connect(target: &Target, credentials: Credentials) -> anyhow::Result<Connected> {
    for (flag, value) in [
        ("--installation", &target.installation),
        ("--namespace", &target.namespace),
    ] {
        if value.trim().is_empty() {
            anyhow::bail!("{flag} must not be empty");
        }
    }
    let key = InstallationKey::new(&target.namespace, &target.installation);
    let client = kube::Client::try_default()
        .await
        .context("finding the Kubernetes API (in-cluster, or KUBECONFIG)")?;
    let source =
        KubeSource::start(client, key.clone(), credentials, target.settings_timeout).await?;
    let settings = source.receiver();
    if settings.borrow().get(&key).is_none() {
        tracing::warn!(installation = %key, "the Installation does not exist (or is invalid): waiting for it");
    }
    let database_url = crate::config::secret_args::required(
        target.database_url.clone(),
        target.database_url_file.as_deref(),
        "--database-url",
        "--database-url-file",
    )?;
    let store = Store::connect(&database_url)
        .await
        .context("connecting to the queue database")?;
    let engine = Engine::new(store, target.system.clone(), settings.clone());
    Ok(Connected {
        key,
        _source: source,
        settings,
        engine,
    })
}

/// Completes on SIGTERM (how Kubernetes stops a pod) or Ctrl-C, setting the flag.
fn stop_on_signal() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        super::operator::shutdown_signal().await;
        let _ = tx.send(true);
    });
    rx
}

/// Ready while the database answers and the Installation's (valid) settings are known.
fn readiness(c: &Connected) -> Readiness {
    let (key, settings) = (c.key.clone(), c.settings.clone());
    Readiness::new(c.engine.store().clone()).with_check(move || {
        if settings.borrow().get(&key).is_some() {
            Ok(())
        } else {
            Err(format!("no valid settings for Installation {key}"))
        }
    })
}

async fn serve(
    addr: SocketAddr,
    router: Router,
    what: &str,
    http: &HttpSettings,
) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on {addr} ({what})"))?;
    let bound = listener.local_addr()?;
    let http = http.clone();
    tokio::spawn(async move {
        let forever = std::future::pending::<()>();
        if let Err(e) = crate::server::serve(listener, router, &http, forever).await {
            tracing::error!("the {bound} listener stopped: {e}");
        }
    });
    Ok(bound)
}

/// `/healthz`, `/readyz` and `/metrics` on `addr`, and the store's gauges of this
/// Installation kept fresh.
async fn serve_health(addr: SocketAddr, c: &Connected, readiness: Readiness) -> anyhow::Result<()> {
    let router = observe::http::traced(health::routes(readiness));
    let bound = serve(addr, router, "health", &c.engine.settings().http).await?;
    tracing::info!("health on http://{bound}/healthz and /readyz, metrics on /metrics");
    let id = c.key.id();
    // Never stopped: the process ends with it (a dropped sender means no stop).
    let (_, forever) = watch::channel(false);
    crate::store::gauges::spawn(c.engine.store().clone(), move || vec![id.clone()], forever);
    Ok(())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

#[derive(Args, Debug)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub lease: super::pool::LeaseArgs,
    /// Where `/healthz`, `/readyz` and `/metrics` are served.
    #[arg(long, default_value = "0.0.0.0:8081")]
    pub health_listen: SocketAddr,
}

/// The fetch, send and webhook-processing loops of one Installation, until SIGTERM.
pub fn worker(args: WorkerArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let credentials = env::credentials(variable).map_err(|e| anyhow!(e))?;
        let c = connect(&args.target, credentials).await?;
        // A loop may sit in one long job (a full send with every retry) without beating.
        let silent_after = c.engine.lease() + HEARTBEAT_INTERVAL * 6;
        let ready = readiness(&c).with_check(health::loops_beat(silent_after));
        serve_health(args.health_listen, &c, ready).await?;
        tracing::info!(installation = %c.key, "worker started");
        let options = SchedulerOptions {
            // The operator's CronJobs run the nightly master data.
            master_data: false,
            only: Some(vec![c.key.clone()]),
            process: env::WORKER_PROCESS,
            ..SchedulerOptions::default()
        };
        // The installation's lease first: the pool (or a worker of an earlier rollout) may
        // still hold it while handing over; pool workers honour it the same way.
        let signalled = stop_on_signal();
        let store = c.engine.store().clone();
        let Some(lease) = DedicatedLease::acquire(
            store.clone(),
            &c.key,
            c.engine.worker_id(),
            args.lease.lease_duration,
            signalled.clone(),
        )
        .await
        else {
            store.close().await;
            return Ok(ExitCode::SUCCESS);
        };
        let (stop_tx, stop) = watch::channel(false);
        let (mut signal, mut lost) = (signalled.clone(), lease.lost.clone());
        tokio::spawn(async move {
            tokio::select! {
                _ = signal.wait_for(|s| *s) => {}
                _ = lost.wait_for(|l| *l) => {}
            }
            let _ = stop_tx.send(true);
        });
        // On SIGTERM the scheduler finishes what it can within the shutdown grace period,
        // hands back the claims it could not finish and removes its heartbeat.
        run_scheduler(c.engine.clone(), options, stop).await;
        let lost = *lease.lost.borrow();
        lease.release().await;
        store.close().await;
        if lost {
            anyhow::bail!(
                "lost the lease on Installation {} (the database was unreachable or another worker took it); stopped",
                c.key
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}

#[derive(Args, Debug)]
pub struct WebhooksArgs {
    #[command(flatten)]
    pub target: Target,
    /// Where Stream's webhook calls are received (`POST /webhooks/{namespace}/{name}`).
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,
    /// Where `/healthz`, `/readyz` and `/metrics` are served.
    #[arg(long, default_value = "0.0.0.0:8081")]
    pub health_listen: SocketAddr,
    /// The token Stream sends back on every call (the operator subscribed with it); at
    /// least 32 bytes.
    #[arg(
        long,
        env = env::WEBHOOK_AUTH_TOKEN,
        hide_env_values = true,
        required_unless_present = "auth_token_file"
    )]
    pub auth_token: Option<String>,
    /// File holding the token, instead of `--auth-token`.
    #[arg(
        long,
        env = "LINNSTREAM_WEBHOOK_AUTH_TOKEN_FILE",
        conflicts_with = "auth_token"
    )]
    pub auth_token_file: Option<std::path::PathBuf>,
}

/// The webhook receiver of one Installation: stores Stream's events for the worker.
pub fn webhooks(args: WebhooksArgs) -> anyhow::Result<ExitCode> {
    let auth_token = crate::config::secret_args::required(
        args.auth_token.clone(),
        args.auth_token_file.as_deref(),
        "--auth-token",
        "--auth-token-file",
    )?;
    let setting = match &args.auth_token_file {
        Some(path) => format!("the token in {} (--auth-token-file)", path.display()),
        None => format!("--auth-token ({})", env::WEBHOOK_AUTH_TOKEN),
    };
    check_secret(&auth_token, &setting).map_err(|e| anyhow!(e))?;
    runtime()?.block_on(async {
        let credentials = env::receiver_credentials(variable).map_err(|e| anyhow!(e))?;
        let c = connect(&args.target, credentials).await?;
        serve_health(args.health_listen, &c, readiness(&c)).await?;
        let auth = WebhookAuth::fixed(c.key.clone(), auth_token);
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("listening on {} (webhooks)", args.listen))?;
        let bound = listener.local_addr()?;
        tracing::info!(installation = %c.key, "receiving Stream webhooks on http://{bound}");
        let mut signalled = stop_on_signal();
        let mut stop = signalled.clone();
        // On SIGTERM: take no new calls, and give those being stored the grace period (an
        // event cut off is not acknowledged, so Stream delivers it again).
        let http = c.engine.settings().http.clone();
        let server = crate::server::serve(
            listener,
            observe::http::traced(webhook_router(c.engine.clone(), auth)),
            &http,
            async move {
                let _ = stop.wait_for(|s| *s).await;
            },
        );
        let mut server = std::pin::pin!(server);
        let ended = tokio::select! {
            result = &mut server => Some(result),
            _ = signalled.wait_for(|s| *s) => None,
        };
        if let Some(result) = ended {
            result.context("the webhooks listener stopped")?;
        } else if tokio::time::timeout(c.engine.settings().shutdown_grace(), server)
            .await
            .is_err()
        {
            tracing::warn!("webhook calls still open after the grace period were cut off");
        }
        c.engine.store().close().await;
        Ok(ExitCode::SUCCESS)
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MasterDataKind {
    /// The identifiers registered in Linnworks (RUN, SEQ, days, Sent to Stream, ...).
    Identifiers,
    /// Stream's depots and delivery methods, and the Linnworks postal services.
    PostalServices,
}

#[derive(Args, Debug)]
pub struct MasterDataArgs {
    pub kind: MasterDataKind,
    #[command(flatten)]
    pub target: Target,
}

/// One master-data sync of one Installation (the operator's CronJobs run it nightly); the
/// exit code says whether it succeeded.
pub fn master_data(args: MasterDataArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let credentials = env::credentials(variable).map_err(|e| anyhow!(e))?;
        let c = connect(&args.target, credentials).await?;
        if c.settings.borrow().get(&c.key).is_none() {
            anyhow::bail!(
                "Installation {} does not exist or is invalid (see its status)",
                c.key
            );
        }
        let job = match args.kind {
            MasterDataKind::Identifiers => Job::Identifiers,
            MasterDataKind::PostalServices => Job::PostalServices,
        };
        run_job(&c.engine, &c.key, job, &Permits::local(1)).await;
        let run = c
            .engine
            .store()
            .last_job_run(&c.key.id(), job.name())
            .await?;
        c.engine.store().close().await;
        match run {
            Some(run) if run.outcome == JobOutcome::Succeeded => {
                println!("{}: {}", job.name(), run.message);
                Ok(ExitCode::SUCCESS)
            }
            Some(run) => {
                eprintln!("error: {}: {}", job.name(), run.message);
                Ok(ExitCode::FAILURE)
            }
            None => Err(anyhow!("{} did not record a run", job.name())),
        }
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::cli::{Cli, Command};
    use crate::operator::build::{self, BuildInput, CronJobApi, OperatorSettings};

    /// The commands accept exactly what the operator's children run (the database URL and
    /// the webhook token come from the environment in a pod; given as flags here).
    #[test]
    fn the_childrens_command_lines_parse() {
        let mut inst: crate::crd::Installation =
            serde_saphyr::from_str(include_str!("../../examples/installation.yaml")).unwrap();
        inst.metadata.namespace = Some("shop".into());
        inst.metadata.uid = Some("u".into());
        let settings = OperatorSettings::new(
            "img",
            crate::crd::SecretKeyRef {
                name: "db".into(),
                key: "url".into(),
            },
        );
        let children = build::build(&BuildInput {
            installation: &inst,
            secret_versions: &Default::default(),
            settings: &settings,
            existing_webhook_auth: None,
            cron_job_api: CronJobApi::BatchV1,
            now: chrono::Utc::now(),
        })
        .unwrap();
        let mut seen = Vec::new();
        for obj in children.to_json().unwrap() {
            let pod = match obj["kind"].as_str().unwrap() {
                "Deployment" => &obj["spec"]["template"]["spec"],
                "CronJob" => &obj["spec"]["jobTemplate"]["spec"]["template"]["spec"],
                _ => continue,
            };
            let mut argv = vec!["linnstream".to_string()];
            for a in pod["containers"][0]["args"].as_array().unwrap() {
                argv.push(a.as_str().unwrap().to_string());
            }
            argv.extend(["--database-url".into(), "postgres://x@y/z".into()]);
            if argv[1] == "webhooks" {
                argv.extend(["--auth-token".into(), "t".repeat(43)]);
            }
            let cli = Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
            let target = match cli.command {
                Command::Worker(a) => {
                    assert_eq!(a.health_listen.port(), 8081);
                    a.target
                }
                Command::Webhooks(a) => {
                    assert_eq!(a.listen.port(), 8080);
                    a.target
                }
                Command::MasterData(a) => a.target,
                other => panic!("unexpected {other:?}"),
            };
            assert_eq!(
                (target.namespace.as_str(), target.installation.as_str()),
                ("shop", "acme")
            );
            seen.push(argv[1].clone());
        }
        assert_eq!(seen, ["worker", "webhooks", "master-data", "master-data"]);
    }

    /// Anyone who can list processes on a node reads command lines: no child the operator
    /// builds carries a secret there. The database URL, the credentials and the webhook
    /// token reach them only as environment variables from Secrets.
    #[test]
    fn no_child_has_a_secret_on_its_command_line() {
        let mut inst: crate::crd::Installation =
            serde_saphyr::from_str(include_str!("../../examples/installation.yaml")).unwrap();
        inst.metadata.namespace = Some("shop".into());
        inst.metadata.uid = Some("u".into());
        let settings = OperatorSettings::new(
            "img",
            crate::crd::SecretKeyRef {
                name: "db".into(),
                key: "url".into(),
            },
        );
        let children = build::build(&BuildInput {
            installation: &inst,
            secret_versions: &Default::default(),
            settings: &settings,
            existing_webhook_auth: None,
            cron_job_api: CronJobApi::BatchV1,
            now: chrono::Utc::now(),
        })
        .unwrap();
        let secret_flags = [
            "--database-url",
            "--auth-token",
            "--webhook-secret",
            "--admin-token",
        ];
        let secret_vars = [
            build::env::DATABASE_URL,
            build::env::STREAM_CLIENT_SECRET,
            build::env::LINNWORKS_APPLICATION_SECRET,
            build::env::LINNWORKS_INSTALLATION_TOKEN,
            build::env::WEBHOOK_AUTH_TOKEN,
        ];
        let mut pods = 0;
        for obj in children.to_json().unwrap() {
            let pod = match obj["kind"].as_str().unwrap() {
                "Deployment" => &obj["spec"]["template"]["spec"],
                "CronJob" => &obj["spec"]["jobTemplate"]["spec"]["template"]["spec"],
                _ => continue,
            };
            pods += 1;
            for container in pod["containers"].as_array().unwrap() {
                let command_line: Vec<&str> = ["command", "args"]
                    .iter()
                    .filter_map(|k| container[*k].as_array())
                    .flatten()
                    .filter_map(|a| a.as_str())
                    .collect();
                for arg in &command_line {
                    assert!(
                        !secret_flags.iter().any(|f| arg.starts_with(f)),
                        "{arg} on a command line"
                    );
                    assert!(!arg.contains("://"), "{arg}: a URL on a command line");
                }
                for var in container["env"].as_array().into_iter().flatten() {
                    let name = var["name"].as_str().unwrap_or_default();
                    if secret_vars.contains(&name) {
                        assert!(var["value"].is_null(), "{name} has a literal value");
                        assert!(
                            var["valueFrom"]["secretKeyRef"].is_object(),
                            "{name} comes from a Secret"
                        );
                    }
                }
            }
        }
        assert_eq!(pods, 4);
    }
}
