use std::process::ExitCode;

use clap::Args;

use crate::store::{Store, StoreOptions};

#[derive(Args, Debug)]
pub struct MigrateArgs {
    /// Database URL: postgres://user@host/db, postgresql://... or sqlite:path/to/file.db
    /// (the SQLite file is created if missing).
    #[arg(
        long,
        env = "LINNSTREAM_DATABASE_URL",
        hide_env_values = true,
        required_unless_present = "database_url_file"
    )]
    pub database_url: Option<String>,
    /// File holding the database URL (keeps its password off the command line).
    #[arg(
        long,
        env = "LINNSTREAM_DATABASE_URL_FILE",
        conflicts_with = "database_url"
    )]
    pub database_url_file: Option<std::path::PathBuf>,
}

pub fn run(args: MigrateArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let database_url = crate::config::secret_args::required(
        args.database_url,
        args.database_url_file.as_deref(),
        "--database-url",
        "--database-url-file",
    )?;
    runtime.block_on(async {
        let options = StoreOptions {
            max_connections: 1,
            migrate: false,
            ..StoreOptions::default()
        };
        let store = Store::connect_with(&database_url, &options).await?;
        let report = store.migrate().await?;
        store.close().await;
        if report.applied.is_empty() {
            eprintln!("{} database is up to date", report.backend);
        }
        for migration in &report.applied {
            eprintln!("applied migration {migration}");
        }
        if let Some(version) = report.latest_version {
            println!("{} schema version {version}", report.backend);
        }
        Ok(ExitCode::SUCCESS)
    })
}
