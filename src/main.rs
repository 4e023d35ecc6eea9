use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = linnstream::cli::Cli::parse();
    linnstream::cli::init_tracing(&cli);
    linnstream::cli::run(cli)
}
