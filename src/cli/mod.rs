//! The `linnstream` command line: one binary, one subcommand per process kind.

mod admin_client;
mod audit;
mod check;
mod children;
mod console;
mod crd;
mod demo;
mod demo_labels;
mod gateway;
mod jobs;
mod migrate;
mod operator;
mod orders;
pub mod plugin;
mod pool;
mod run;
mod simulate;
mod table;
mod webhook_events;
mod webhook_token;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "linnstream",
    version,
    about = "Linnworks-to-Stream shipping integration"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log format: `text` (coloured only on a terminal, never with NO_COLOR) or `json`
    /// (one object per line).
    #[arg(long, global = true, env = crate::observe::logs::LOG_FORMAT_ENV, value_enum, default_value_t)]
    pub log_format: crate::observe::logs::LogFormat,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the CRD YAML, or write it to a file.
    Crd(crd::CrdArgs),
    /// Validate resource YAML files offline, with the rules the controller uses.
    Check(check::CheckArgs),
    /// Apply the database schema migrations (also done automatically at start).
    Migrate(migrate::MigrateArgs),
    /// Show the whole integration on this machine: simulators, orders, webhooks, a summary.
    Demo(demo::DemoArgs),
    /// Run the integration for every Installation in a folder, in one process.
    Run(run::RunArgs),
    /// Run the Kubernetes operator: Installations and PostalServiceMappings reconciled into
    /// workers, CronJobs and webhook receivers, with status.
    Operator(Box<operator::OperatorCommand>),
    /// The sync loops of one Installation (run by the operator's worker Deployment).
    Worker(Box<children::WorkerArgs>),
    /// The Stream webhook receiver of one Installation (run by the operator).
    Webhooks(Box<children::WebhooksArgs>),
    /// One master-data sync of one Installation (run by the operator's CronJobs).
    MasterData(Box<children::MasterDataArgs>),
    /// A worker of the shared pool: the sync loops of the pooled Installations whose leases
    /// it holds (run by the operator's pool Deployment).
    PoolWorker(Box<pool::PoolWorkerArgs>),
    /// The Stream webhook receiver of every pooled Installation (run by the operator).
    PoolWebhooks(Box<pool::PoolWebhooksArgs>),
    /// Serve the Linnworks shipping-integration endpoints (labels) for every Installation in a
    /// folder or in the operator's config Secret.
    Gateway(gateway::GatewayArgs),
    /// Serve the support console (admin API and dashboard) for every Installation in a folder
    /// or in the operator's config Secret.
    Console(console::ConsoleArgs),
    /// Run the Linnworks and Stream simulators on local ports (see docs/simulators.md).
    Simulate(simulate::SimulateArgs),
    /// The order queue of a running process: list, show, send, resend, delete, refetch.
    Orders(orders::OrdersArgs),
    /// The audit log of a running process.
    Audit(audit::AuditArgs),
    /// The scheduler's jobs of a running process: last run, outcome, next run, overdue.
    Jobs(jobs::JobsArgs),
    /// The Stream webhook events of a running process: list (by status and code), retry.
    WebhookEvents(webhook_events::WebhookEventsArgs),
    /// Print the webhook path and token an installation expects (from the webhook secret).
    WebhookToken(webhook_token::WebhookTokenArgs),
    /// Print a shell completion script for `linnstream` (bash, zsh, fish, ...); for the
    /// kubectl plugin, `kubectl-linnstream completion SHELL`.
    Completion {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Logs to standard error in `cli.log_format`; `LINNSTREAM_LOG` overrides the default
/// filter.
pub fn init_tracing(cli: &Cli) {
    crate::observe::logs::init(
        cli.log_format,
        default_log_filter(cli),
        process_kind(&cli.command),
    );
}

/// The process kind `linnstream_build_info` names.
fn process_kind(command: &Command) -> &'static str {
    match command {
        Command::Run(_) => "run",
        Command::Operator(_) => "operator",
        Command::Worker(_) => "worker",
        Command::Webhooks(_) => "webhooks",
        Command::MasterData(_) => "master-data",
        Command::PoolWorker(_) => "pool-worker",
        Command::PoolWebhooks(_) => "pool-webhooks",
        Command::Gateway(_) => "gateway",
        Command::Demo(_) => "demo",
        Command::Console(_) => "console",
        _ => "cli",
    }
}

/// The demo prints its own progress; its logs would drown it.
pub fn default_log_filter(cli: &Cli) -> &'static str {
    match cli.command {
        Command::Demo(_) => "warn",
        _ => "info",
    }
}

pub fn run(cli: Cli) -> ExitCode {
    crate::observe::metrics().set_process(process_kind(&cli.command));
    let result = match cli.command {
        Command::Crd(args) => crd::run(args),
        Command::Check(args) => check::run(args),
        Command::Migrate(args) => migrate::run(args),
        Command::Operator(args) => operator::run(*args),
        Command::Worker(args) => children::worker(*args),
        Command::Webhooks(args) => children::webhooks(*args),
        Command::MasterData(args) => children::master_data(*args),
        Command::PoolWorker(args) => pool::worker(*args),
        Command::PoolWebhooks(args) => pool::webhooks(*args),
        Command::Simulate(args) => simulate::run(args),
        Command::Run(args) => run::run(args),
        Command::Gateway(args) => gateway::run(args),
        Command::Console(args) => console::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Orders(args) => orders::run(args),
        Command::Audit(args) => audit::run(args),
        Command::Jobs(args) => jobs::run(args),
        Command::WebhookEvents(args) => webhook_events::run(args),
        Command::WebhookToken(args) => webhook_token::run(args),
        Command::Completion { shell } => {
            use clap::CommandFactory as _;
            plugin::print_completion(shell, Cli::command(), "linnstream");
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
