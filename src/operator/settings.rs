//! The operator's own settings (Helm values -> flags or `LINNSTREAM_...` variables), checked
//! at start.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;

use super::build::OperatorSettings;
use super::build::pool::PoolSettings;
use super::leader::LeaseConfig;
use crate::crd::SecretKeyRef;
use crate::crd::installation::WorkerMode;
use crate::domain::schedule::parse_duration;
use crate::settings::SystemSettings;

fn duration(text: &str) -> Result<Duration, String> {
    parse_duration(text)
}

#[derive(Args, Clone, Debug)]
pub struct OperatorArgs {
    /// The linnstream image every worker, receiver and master-data job runs.
    #[arg(long, env = "LINNSTREAM_IMAGE")]
    pub image: String,

    #[arg(long, env = "LINNSTREAM_IMAGE_PULL_POLICY", default_value = "IfNotPresent",
          value_parser = ["Always", "IfNotPresent", "Never"])]
    pub image_pull_policy: String,

    /// The Secret (in each Installation's namespace) holding the PostgreSQL URL the children
    /// use.
    #[arg(
        long,
        env = "LINNSTREAM_DATABASE_SECRET_NAME",
        default_value = "linnstream-database"
    )]
    pub database_secret_name: String,

    /// The key of that Secret.
    #[arg(long, env = "LINNSTREAM_DATABASE_SECRET_KEY", default_value = "url")]
    pub database_secret_key: String,

    /// The PostgreSQL URL the operator reads queue counts, job runs, heartbeats and master
    /// data from.
    #[arg(
        long,
        env = "LINNSTREAM_DATABASE_URL",
        hide_env_values = true,
        required_unless_present = "database_url_file"
    )]
    pub database_url: Option<String>,

    /// File holding that URL, instead of `--database-url`.
    #[arg(
        long,
        env = "LINNSTREAM_DATABASE_URL_FILE",
        conflicts_with = "database_url"
    )]
    pub database_url_file: Option<std::path::PathBuf>,

    /// Where `/metrics` and `/healthz` are served.
    #[arg(
        long,
        env = "LINNSTREAM_METRICS_LISTEN",
        default_value = "0.0.0.0:8080"
    )]
    pub metrics_listen: SocketAddr,

    /// Only watch this namespace (default: all namespaces).
    #[arg(long, env = "LINNSTREAM_WATCH_NAMESPACE")]
    pub watch_namespace: Option<String>,

    /// Name of the leader-election Lease.
    #[arg(
        long,
        env = "LINNSTREAM_LEASE_NAME",
        default_value = "linnstream-operator"
    )]
    pub lease_name: String,

    /// Namespace of the leader-election Lease (the operator's own, normally).
    #[arg(long, env = "LINNSTREAM_LEASE_NAMESPACE", default_value = "default")]
    pub lease_namespace: String,

    /// This replica's identity in the Lease (default: the pod name, else host and a random
    /// suffix).
    #[arg(long, env = "LINNSTREAM_POD_NAME")]
    pub identity: Option<String>,

    /// How long a silent leader keeps the Lease before another replica takes over.
    #[arg(long, env = "LINNSTREAM_LEASE_DURATION", default_value = "15s", value_parser = duration)]
    pub lease_duration: Duration,

    /// A leader that cannot renew within this stops reconciling (shorter than the lease).
    #[arg(long, env = "LINNSTREAM_LEASE_RENEW_DEADLINE", default_value = "10s", value_parser = duration)]
    pub lease_renew_deadline: Duration,

    /// How often the Lease is renewed or tried.
    #[arg(long, env = "LINNSTREAM_LEASE_RETRY_PERIOD", default_value = "2s", value_parser = duration)]
    pub lease_retry_period: Duration,

    /// How often every Installation is reconciled even without a change (queue counts,
    /// heartbeats and master data live in the store; batch/v1beta1 CronJobs follow daylight
    /// saving changes). At most 1h.
    #[arg(long, env = "LINNSTREAM_RESYNC_INTERVAL", default_value = "1m", value_parser = duration)]
    pub resync_interval: Duration,

    /// Reconciles run at once, per controller.
    #[arg(long, env = "LINNSTREAM_RECONCILE_CONCURRENCY", default_value_t = 16,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,

    /// How long deleting an Installation may wait for its Stream webhook subscriptions to
    /// be removed before giving up (with a warning event) and letting it go.
    #[arg(long, env = "LINNSTREAM_FINALIZER_TIMEOUT", default_value = "5m", value_parser = duration)]
    pub finalizer_timeout: Duration,

    /// The config Secret the operator maintains for the gateway and the console (every
    /// Installation, its mappings and the Secret keys they reference, as files
    /// `linnstream gateway -f` reads); none when not set.
    #[arg(long, env = "LINNSTREAM_CONFIG_SECRET_NAME")]
    pub config_secret_name: Option<String>,

    /// Its namespace (the release namespace, normally); default: the Lease's.
    #[arg(long, env = "LINNSTREAM_CONFIG_SECRET_NAMESPACE")]
    pub config_secret_namespace: Option<String>,

    /// The mode of Installations whose `spec.workers.mode` is not set: `Dedicated` (a
    /// worker and webhook receiver Deployment each) or `Pool` (the shared worker pool).
    #[arg(long, env = "LINNSTREAM_DEFAULT_WORKER_MODE", value_enum, default_value_t = WorkerMode::Dedicated)]
    pub default_worker_mode: WorkerMode,

    /// How long a worker's lease on an installation lasts without renewal (3s to 10m).
    /// A dead pool worker's installations are taken over within this plus a third.
    #[arg(long, env = "LINNSTREAM_INSTALLATION_LEASE_DURATION", default_value = "15s", value_parser = duration)]
    pub installation_lease_duration: Duration,

    /// Run the shared worker pool (needs `--config-secret-name`: the pool reads it): the
    /// operator keeps its worker Deployment, webhook receiver Deployment and Service in
    /// the config Secret's namespace.
    #[arg(long, env = "LINNSTREAM_POOL_ENABLED")]
    pub pool_enabled: bool,

    /// Base name of the pool's objects (`NAME-worker`, `NAME-webhooks`).
    #[arg(long, env = "LINNSTREAM_POOL_NAME", default_value = "linnstream-pool")]
    pub pool_name: String,

    /// Pool worker replicas; 0 leaves the count to a HorizontalPodAutoscaler (the chart's
    /// `pool.autoscaling`).
    #[arg(long, env = "LINNSTREAM_POOL_REPLICAS", default_value_t = 2,
          value_parser = clap::value_parser!(i32).range(0..=1000))]
    pub pool_replicas: i32,

    /// Replicas of the pool's shared webhook receiver.
    #[arg(long, env = "LINNSTREAM_POOL_WEBHOOK_REPLICAS", default_value_t = 1,
          value_parser = clap::value_parser!(i32).range(1..=100))]
    pub pool_webhook_replicas: i32,

    #[command(flatten)]
    pub system: SystemSettings,
}

/// Where the operator writes the config Secret the gateway and console watch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigSecret {
    pub namespace: String,
    pub name: String,
}

/// The checked settings the operator runs with.
#[derive(Clone, Debug)]
pub struct OperatorConfig {
    pub children: OperatorSettings,
    pub database_url: String,
    pub metrics_listen: SocketAddr,
    pub watch_namespace: Option<String>,
    pub lease: LeaseConfig,
    pub resync_interval: Duration,
    pub concurrency: u16,
    pub finalizer_timeout: Duration,
    pub config_secret: Option<ConfigSecret>,
    /// The shared worker pool, when enabled (its objects go in the config Secret's
    /// namespace).
    pub pool: Option<PoolSettings>,
}

impl OperatorArgs {
    pub fn into_config(self) -> Result<OperatorConfig, String> {
        let mut problems = Vec::new();
        if self.image.trim().is_empty() {
            problems.push("--image: must name an image".to_string());
        }
        if self.lease_renew_deadline >= self.lease_duration {
            problems.push(format!(
                "--lease-renew-deadline ({}s) must be shorter than --lease-duration ({}s)",
                self.lease_renew_deadline.as_secs(),
                self.lease_duration.as_secs()
            ));
        }
        if self.lease_retry_period.is_zero() || self.lease_retry_period >= self.lease_renew_deadline
        {
            problems.push(
                "--lease-retry-period must be above zero and shorter than --lease-renew-deadline"
                    .to_string(),
            );
        }
        if self.resync_interval < Duration::from_secs(5)
            || self.resync_interval > Duration::from_secs(3600)
        {
            problems.push("--resync-interval must be between 5s and 1h".to_string());
        }
        for (flag, value) in [
            ("--database-secret-name", &self.database_secret_name),
            ("--database-secret-key", &self.database_secret_key),
            ("--lease-name", &self.lease_name),
            ("--lease-namespace", &self.lease_namespace),
        ] {
            if value.trim().is_empty() {
                problems.push(format!("{flag}: must not be empty"));
            }
        }
        if let Some(name) = &self.config_secret_name
            && let Err(e) = crate::crd::check::check_dns_name(name)
        {
            problems.push(format!("--config-secret-name: {e}"));
        }
        if self.pool_enabled && self.config_secret_name.is_none() {
            problems.push(
                "--pool-enabled: the pool learns the Installations from the config Secret; set --config-secret-name too"
                    .to_string(),
            );
        }
        if self.pool_enabled
            && let Err(e) =
                crate::crd::check::check_dns_name(&format!("{}-webhooks", self.pool_name))
        {
            problems.push(format!("--pool-name: {e}"));
        }
        if self.installation_lease_duration < Duration::from_secs(3)
            || self.installation_lease_duration > Duration::from_secs(600)
        {
            problems.push("--installation-lease-duration must be between 3s and 10m".to_string());
        }
        let database_url = crate::config::secret_args::required(
            self.database_url,
            self.database_url_file.as_deref(),
            "--database-url",
            "--database-url-file",
        )
        .unwrap_or_else(|e| {
            problems.push(e.to_string());
            String::new()
        });
        if !problems.is_empty() {
            return Err(problems.join("\n"));
        }
        let identity = self.identity.filter(|i| !i.is_empty()).unwrap_or_else(|| {
            let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "operator".into());
            format!("{host}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
        });
        let lease_namespace = self.lease_namespace.clone();
        let mut children = OperatorSettings::new(
            self.image,
            SecretKeyRef {
                name: self.database_secret_name,
                key: self.database_secret_key,
            },
        );
        children.image_pull_policy = self.image_pull_policy;
        children.system = self.system;
        // The children log as the operator does (`--log-format`, the chart's logFormat).
        children.log_format = crate::observe::logs::format();
        children.default_worker_mode = self.default_worker_mode;
        children.lease_duration = self.installation_lease_duration;
        let pool = self.pool_enabled.then(|| PoolSettings {
            name: self.pool_name.clone(),
            replicas: (self.pool_replicas > 0).then_some(self.pool_replicas),
            webhook_replicas: self.pool_webhook_replicas,
        });
        Ok(OperatorConfig {
            children,
            database_url,
            metrics_listen: self.metrics_listen,
            watch_namespace: self.watch_namespace,
            lease: LeaseConfig {
                name: self.lease_name,
                namespace: self.lease_namespace,
                identity,
                lease_duration: self.lease_duration,
                renew_deadline: self.lease_renew_deadline,
                retry_period: self.lease_retry_period,
            },
            resync_interval: self.resync_interval,
            concurrency: self.concurrency,
            finalizer_timeout: self.finalizer_timeout,
            config_secret: self.config_secret_name.map(|name| ConfigSecret {
                namespace: self
                    .config_secret_namespace
                    .unwrap_or_else(|| lease_namespace.clone()),
                name,
            }),
            pool,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: OperatorArgs,
    }

    fn parse(extra: &[&str]) -> Result<OperatorConfig, String> {
        let mut argv = vec![
            "op",
            "--image",
            "registry.example/linnstream:1",
            "--database-url",
            "postgres://x@y/z",
        ];
        argv.extend_from_slice(extra);
        Cli::try_parse_from(argv)
            .map_err(|e| e.to_string())?
            .args
            .into_config()
    }

    #[test]
    fn defaults_are_safe_and_flags_are_checked() {
        let c = parse(&[]).expect("defaults");
        assert_eq!(c.lease.lease_duration, Duration::from_secs(15));
        assert_eq!(c.resync_interval, Duration::from_secs(60));
        assert_eq!(c.children.database_url.name, "linnstream-database");
        assert!(!c.lease.identity.is_empty());
        let err = parse(&["--lease-renew-deadline", "20s"]).unwrap_err();
        assert!(
            err.contains("--lease-renew-deadline (20s) must be shorter"),
            "{err}"
        );
        let err = parse(&["--resync-interval", "2h"]).unwrap_err();
        assert!(err.contains("--resync-interval"), "{err}");
        let err = parse(&["--lease-duration", "fifteen"]).unwrap_err();
        assert!(err.contains("--lease-duration"), "{err}");
        let err = parse(&["--max-retry-attempts", "99"]).unwrap_err();
        assert!(err.contains("99"), "{err}");
    }
}
