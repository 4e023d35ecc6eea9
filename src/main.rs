use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = linnstream::cli::Cli::parse();
    linnstream::cli::init_tracing(linnstream::cli::default_log_filter(&cli));
    linnstream::cli::run(cli)
}
