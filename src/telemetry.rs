//! Logging set-up: the process-wide `tracing` subscriber, JSON lines or pretty; and, in a
//! build with the cargo feature `otlp` and `OTEL_EXPORTER_OTLP_ENDPOINT` set, export of the
//! request spans to an OpenTelemetry collector (`otlp`).
//!
//! What a request logs (its span, the access line) is the request envelope's business
//! (`api::envelope`). Without the feature, or without an endpoint, the subscriber is exactly
//! the logging one: no exporter, no extra layer.

use tracing_subscriber::{EnvFilter, fmt};

use crate::config::{LogFormat, Settings};

#[cfg(feature = "otlp")]
mod otlp;

/// What [`init`] started that must be stopped at exit (the span exporter, when there is one):
/// `main` keeps it and calls [`Telemetry::shutdown`] so the last spans are sent.
#[derive(Default)]
pub struct Telemetry {
    #[cfg(feature = "otlp")]
    exporter: Option<otlp::Exporter>,
}

impl Telemetry {
    /// Sends the spans still buffered (bounded by the exporter's timeout).
    pub fn shutdown(self) {
        #[cfg(feature = "otlp")]
        if let Some(exporter) = self.exporter {
            exporter.shutdown();
        }
    }
}

/// Installs the global subscriber. Safe to call more than once (later calls are no-ops),
/// which lets tests start many application instances in one process.
pub fn init(settings: &Settings) -> Telemetry {
    #[cfg(feature = "otlp")]
    if let Some(exporter) = otlp::Exporter::from_env(settings) {
        return otlp::init(settings, filter(settings), exporter);
    }
    let builder = fmt()
        .with_env_filter(filter(settings))
        .with_writer(std::io::stdout);
    let _ = match settings.log_format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Pretty => builder.pretty().try_init(),
    };
    Telemetry::default()
}

fn filter(settings: &Settings) -> EnvFilter {
    EnvFilter::try_new(&settings.log_level).unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Gives the exported copy of a request's span the request's trace: `trace_id`, its own
/// `span_id` (the one the response's `traceparent` names) and, when the caller sent a
/// `traceparent`, the caller's span as its parent. Does nothing unless spans are exported.
#[inline]
pub fn export_request_span(
    span: &tracing::Span,
    trace_id: &str,
    span_id: &str,
    parent_id: Option<&str>,
    flags: &str,
) {
    #[cfg(feature = "otlp")]
    otlp::adopt_trace(span, trace_id, span_id, parent_id, flags);
    #[cfg(not(feature = "otlp"))]
    let _ = (span, trace_id, span_id, parent_id, flags);
}
