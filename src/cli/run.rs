use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::app::{AppOptions, start};
use crate::server::admin::{AdminAuth, AdminAuthArgs};
use crate::server::webhooks::check_secret;

use crate::config::secret_args::value_or_file;
use crate::settings::SystemSettings;

/// Default queue database of the standalone process: a SQLite file in the working folder.
pub const DEFAULT_DATABASE_URL: &str = "sqlite:linnstream.db";

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Folder of Installation, PostalServiceMapping and Secret YAML (sub-folders too).
    #[arg(short = 'f', long = "filename")]
    pub config_dir: PathBuf,
    /// Queue database: `sqlite:FILE` or `postgres://...`.
    #[arg(long, env = "LINNSTREAM_DATABASE_URL", default_value = DEFAULT_DATABASE_URL, hide_env_values = true)]
    pub database_url: String,
    /// File holding the queue database URL (keeps its password off the command line).
    #[arg(
        long,
        env = "LINNSTREAM_DATABASE_URL_FILE",
        conflicts_with = "database_url"
    )]
    pub database_url_file: Option<PathBuf>,
    /// Address of the HTTP listener (webhooks, admin API, dashboard, label gateway).
    #[arg(long, env = "LINNSTREAM_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Secret the webhook tokens Stream sends back are derived from (HMAC per installation).
    /// Without it a random one is used and the Stream subscriptions are renewed at start.
    #[arg(long, env = "LINNSTREAM_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,
    /// File holding the webhook secret (at least 32 bytes), instead of `--webhook-secret`.
    #[arg(
        long,
        env = "LINNSTREAM_WEBHOOK_SECRET_FILE",
        conflicts_with = "webhook_secret"
    )]
    pub webhook_secret_file: Option<PathBuf>,
    /// Leave the nightly master-data jobs to something else (e.g. CronJobs).
    #[arg(long)]
    pub no_master_data: bool,
    #[command(flatten)]
    pub admin: AdminAuthArgs,
    #[command(flatten)]
    pub settings: SystemSettings,
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    if !args.config_dir.is_dir() {
        anyhow::bail!("{}: no such folder", args.config_dir.display());
    }
    let configured = args.admin.admin_token.is_some() || args.admin.admin_token_file.is_some();
    let admin = if configured {
        Some(AdminAuth::from_args(&args.admin)?)
    } else {
        None
    };
    let webhook_secret = value_or_file(
        args.webhook_secret,
        args.webhook_secret_file.as_deref(),
        "--webhook-secret-file",
    )?;
    if let Some(secret) = &webhook_secret {
        let setting = match &args.webhook_secret_file {
            Some(path) => format!(
                "the webhook secret in {} (--webhook-secret-file)",
                path.display()
            ),
            None => "--webhook-secret (LINNSTREAM_WEBHOOK_SECRET)".to_string(),
        };
        check_secret(secret, &setting).map_err(|e| anyhow::anyhow!(e))?;
    }
    let database_url = value_or_file(
        Some(args.database_url),
        args.database_url_file.as_deref(),
        "--database-url-file",
    )?
    .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string());
    let has_admin = admin.is_some();
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let app = start(AppOptions {
            config_dir: args.config_dir,
            database_url,
            listen: args.listen,
            settings: args.settings,
            master_data: !args.no_master_data,
            remote: None,
            scheduler: true,
            webhook_secret,
            admin,
        })
        .await?;
        crate::observe::logs::banner(&format!(
            "linnstream is running on {}; Ctrl-C stops it",
            app.url()
        ));
        // Where each installation's Stream notifications go: the namespace of a resource
        // read from a file without one is `default`, which nobody should have to guess.
        for inst in app.engine.installations() {
            crate::observe::logs::banner(&format!(
                "  installation {}: webhooks at {}{}{}",
                inst.key,
                app.url(),
                crate::domain::webhook::webhook_path(&inst.key),
                if has_admin {
                    format!(", dashboard at {}/admin/", app.url())
                } else {
                    String::new()
                }
            ));
        }
        app.until_signal().await;
        anyhow::Ok(ExitCode::SUCCESS)
    })
}
