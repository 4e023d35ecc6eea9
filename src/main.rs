use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

fn main() -> ExitCode {
    // The same binary is the kubectl plugin when installed (or linked) as kubectl-linnstream.
    if std::env::args_os()
        .next()
        .is_some_and(|argv0| linnstream::cli::plugin::invoked_as_plugin(&argv0))
    {
        return linnstream::cli::plugin::main(std::env::args_os());
    }
    let cli = linnstream::cli::Cli::parse();
    linnstream::cli::init_tracing(&cli);
    let code = linnstream::cli::run(cli);
    // Spans still queued for an OTLP receiver (nothing when export is off).
    linnstream::observe::traces::flush(Duration::from_secs(5));
    code
}
