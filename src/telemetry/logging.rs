//! Structured logs. Every line a reconcile writes carries the object
//! reference through its span (`namespace`, `name`), in text and in JSON.

use clap::ValueEnum;
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines, spans prefixed.
    #[default]
    Text,
    /// One JSON object per line, with the current span's fields.
    Json,
}

/// Installs the global subscriber, writing to standard error (standard
/// output stays for command output). The filter comes from `RUST_LOG`
/// (default `info`). Fails when a subscriber is already installed.
pub fn init(format: LogFormat) -> Result<(), String> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    let result = match format {
        LogFormat::Text => registry
            .with(fmt::layer().with_target(false).with_writer(std::io::stderr))
            .try_init(),
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .with_writer(std::io::stderr)
                    .json()
                    .with_current_span(true)
                    .with_span_list(false)
                    .flatten_event(true),
            )
            .try_init(),
    };
    result.map_err(|error| error.to_string())
}
