use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::app::{AppOptions, start};
use crate::server::admin::{AdminAuth, AdminAuthArgs};
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
    /// Address of the HTTP listener (webhooks, admin API, dashboard, label gateway).
    #[arg(long, env = "LINNSTREAM_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Secret the webhook tokens Stream sends back are derived from (HMAC per installation).
    /// Without it a random one is used and the Stream subscriptions are renewed at start.
    #[arg(long, env = "LINNSTREAM_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,
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
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let app = start(AppOptions {
            config_dir: args.config_dir,
            database_url: args.database_url,
            listen: args.listen,
            settings: args.settings,
            master_data: !args.no_master_data,
            remote: None,
            scheduler: true,
            webhook_secret: args.webhook_secret,
            admin,
        })
        .await?;
        crate::observe::logs::banner(&format!(
            "linnstream is running on {}; Ctrl-C stops it",
            app.url()
        ));
        app.until_signal().await;
        anyhow::Ok(ExitCode::SUCCESS)
    })
}
