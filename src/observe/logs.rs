//! Logging set-up: text for people, JSON lines for log pipelines, colour only on a
//! terminal. Every event carries the fields of the spans it happened in (installation,
//! job, correlation id, order id, request id), so one order's path can be followed.

use std::io::IsTerminal;
use std::sync::OnceLock;

use clap::ValueEnum;

/// Environment variable of `--log-format`.
pub const LOG_FORMAT_ENV: &str = "LINNSTREAM_LOG_FORMAT";
/// Environment variable of the log filter.
pub const LOG_FILTER_ENV: &str = "LINNSTREAM_LOG";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One line per event for people; coloured only on a terminal.
    #[default]
    Text,
    /// One JSON object per line, with the fields of the enclosing spans.
    Json,
}

impl LogFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

impl std::fmt::Display for LogFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

static FORMAT: OnceLock<LogFormat> = OnceLock::new();

/// The format this process logs in (the operator passes it on to its children).
pub fn format() -> LogFormat {
    FORMAT.get().copied().unwrap_or_default()
}

/// A line for the person who started the process (where it listens): as is in text, an
/// event in JSON, so a JSON log stays one object per line. Errors that end the process
/// are printed as they are, after the log.
pub fn banner(message: &str) {
    match format() {
        LogFormat::Text => eprintln!("{message}"),
        LogFormat::Json => tracing::info!("{message}"),
    }
}

/// Colour codes are for a person at a terminal: a file, a pipe or `kubectl logs` would
/// show them as garbage. `NO_COLOR` (any non-empty value) turns them off everywhere.
pub fn use_colour(is_terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    is_terminal && no_color.is_none_or(|v| v.is_empty())
}

/// Logs to standard error; `LINNSTREAM_LOG` overrides `default_filter`. With an OTLP
/// endpoint in the environment the spans are exported too (`traces`), as `process`.
pub fn init(format: LogFormat, default_filter: &str, process: &str) {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let _ = FORMAT.set(format);
    let filter = tracing_subscriber::EnvFilter::try_from_env(LOG_FILTER_ENV)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let colour = use_colour(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR"),
    );
    let output = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(colour)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
            .boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(output)
        .with(super::traces::layer(process))
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::use_colour;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(use_colour(true, None));
        assert!(use_colour(true, Some("".into())));
        assert!(!use_colour(true, Some("1".into())));
        assert!(!use_colour(false, None));
    }
}
