use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

fn main() -> ExitCode {
    let cli = linnstream::cli::Cli::parse();
    linnstream::cli::init_tracing(&cli);
    let code = linnstream::cli::run(cli);
    // Spans still queued for an OTLP receiver (nothing when export is off).
    linnstream::observe::traces::flush(Duration::from_secs(5));
    code
}
