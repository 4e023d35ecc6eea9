//! `linnstream console`: the support console, i.e. the admin API (`/api/admin/...`) and the
//! dashboard (`/admin/`) for every Installation, over the shared queue database, with
//! `/healthz`. It is what `linnstream run` serves beside the other surfaces, on a listener
//! of its own: in a cluster the label endpoints face Linnworks (the internet) while the
//! console holds action rights (send, resend, delete, re-fetch), so the chart runs it as a
//! separate Deployment with its own Service, NetworkPolicy and scaling (docs/admin.md).

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Args;

use crate::server::admin::{AdminAuth, AdminAuthArgs, admin_router};
use crate::settings::SystemSettings;

use super::gateway::{ConfigArgs, DatabaseArgs, Surface};

/// Where the console listens unless told otherwise: beside the gateway's 8080.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8081";

#[derive(Args, Debug)]
pub struct ConsoleArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Address of the HTTP listener.
    #[arg(long, env = "LINNSTREAM_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Admin tokens: required, the console is never served without one.
    #[command(flatten)]
    pub admin: AdminAuthArgs,
    #[command(flatten)]
    pub settings: SystemSettings,
}

pub fn run(args: ConsoleArgs) -> anyhow::Result<ExitCode> {
    // Checked before anything is opened: a console without tokens would serve nothing.
    let auth = AdminAuth::from_args(&args.admin)?;
    let surface = Surface {
        process: "console",
        config: args.config,
        database: args.database,
        listen: args.listen,
        settings: args.settings,
    };
    surface.run(move |engine| admin_router(engine, auth))
}
