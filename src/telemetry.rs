//! Logging set-up: the process-wide `tracing` subscriber, JSON lines or pretty.
//!
//! What a request logs (its span, the access line) is the request envelope's business
//! (`api::envelope`).

use tracing_subscriber::{EnvFilter, fmt};

use crate::config::{LogFormat, Settings};

/// Installs the global subscriber. Safe to call more than once (later calls are no-ops),
/// which lets tests start many application instances in one process.
pub fn init(settings: &Settings) {
    let filter = EnvFilter::try_new(&settings.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stdout);
    let _ = match settings.log_format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Pretty => builder.pretty().try_init(),
    };
}
