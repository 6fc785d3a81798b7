//! Export of request spans over OTLP/HTTP (protobuf), compiled with the cargo feature `otlp`
//! and switched on by `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`).
//!
//! The exporter's other settings are OpenTelemetry's standard variables, read by the SDK:
//! `OTEL_SERVICE_NAME` (default `trickster-oracle`), `OTEL_RESOURCE_ATTRIBUTES`,
//! `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_TIMEOUT`, `OTEL_BSP_SCHEDULE_DELAY`, ...
//! Spans are batched and sent by the SDK's own thread, never on the request's path.
//!
//! The request span keeps the ids the service already gave the request (`api::trace`): the
//! SDK draws ids from [`RequestIds`], which hands out the request's own ids while the
//! envelope starts its span, so the trace id in the logs and problem bodies, the
//! `traceparent` of the response and the exported span all agree.

use std::{
    cell::Cell,
    sync::atomic::{AtomicBool, Ordering},
};

use opentelemetry::{
    Context, KeyValue,
    trace::{
        SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, TracerProvider,
    },
};
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::{
    Resource,
    trace::{IdGenerator, RandomIdGenerator, SdkTracerProvider},
};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{EnvFilter, Layer, layer::SubscriberExt, util::SubscriberInitExt};

use super::Telemetry;
use crate::config::{LogFormat, Settings};

const ENDPOINT_VARIABLES: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
];

/// Whether request spans are exported (set once, when the subscriber is installed).
static EXPORTING: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// The ids of the span being started on this thread by [`adopt_trace`].
    static NEXT_IDS: Cell<Option<(TraceId, SpanId)>> = const { Cell::new(None) };
}

/// The SDK's source of ids: the request's own while [`adopt_trace`] starts its span, random
/// ones otherwise.
#[derive(Debug, Default)]
struct RequestIds(RandomIdGenerator);

impl IdGenerator for RequestIds {
    fn new_trace_id(&self) -> TraceId {
        NEXT_IDS
            .get()
            .map_or_else(|| self.0.new_trace_id(), |(trace, _)| trace)
    }

    fn new_span_id(&self) -> SpanId {
        NEXT_IDS
            .get()
            .map_or_else(|| self.0.new_span_id(), |(_, span)| span)
    }
}

/// The tracer provider, whose batch processor owns the exporter thread.
pub struct Exporter(SdkTracerProvider);

impl Exporter {
    /// An exporter when an endpoint is set. A configuration the exporter refuses is reported
    /// on standard error and leaves the service running without export: tracing is an aid,
    /// not a reason to stay down.
    pub fn from_env(settings: &Settings) -> Option<Self> {
        let endpoint_set = ENDPOINT_VARIABLES
            .iter()
            .any(|name| std::env::var(name).is_ok_and(|value| !value.trim().is_empty()));
        if !endpoint_set {
            return None;
        }
        let exporter = match opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .build()
        {
            Ok(exporter) => exporter,
            Err(err) => {
                eprintln!(
                    "trickster-oracle: OTEL_EXPORTER_OTLP_ENDPOINT: {err}; spans are not exported"
                );
                return None;
            }
        };
        let mut resource = Resource::builder().with_attributes([
            KeyValue::new("service.version", env!("CARGO_PKG_VERSION")),
            KeyValue::new("service.instance.id", settings.instance.clone()),
        ]);
        if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
            resource = resource.with_service_name("trickster-oracle");
        }
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_id_generator(RequestIds::default())
            .with_resource(resource.build())
            .build();
        Some(Self(provider))
    }

    pub fn shutdown(self) {
        let _ = self.0.shutdown();
    }
}

/// Installs the logging layer of `settings` and the span-export layer together.
pub fn init(settings: &Settings, filter: EnvFilter, exporter: Exporter) -> Telemetry {
    let tracer = exporter.0.tracer("trickster-oracle");
    let logs = fmt_layer(settings.log_format);
    let spans = tracing_opentelemetry::layer().with_tracer(tracer);
    let installed = tracing_subscriber::registry()
        .with(filter)
        .with(logs)
        .with(spans)
        .try_init()
        .is_ok();
    EXPORTING.store(installed, Ordering::Relaxed);
    Telemetry {
        exporter: Some(exporter),
    }
}

fn fmt_layer<S>(format: LogFormat) -> Box<dyn Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stdout);
    match format {
        LogFormat::Json => layer
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
        LogFormat::Pretty => layer.pretty().boxed(),
    }
}

/// See [`super::export_request_span`].
pub fn adopt_trace(
    span: &tracing::Span,
    trace_id: &str,
    span_id: &str,
    parent_id: Option<&str>,
    flags: &str,
) {
    if !EXPORTING.load(Ordering::Relaxed) {
        return;
    }
    let (Ok(trace), Ok(own)) = (TraceId::from_hex(trace_id), SpanId::from_hex(span_id)) else {
        return;
    };
    if let Some(parent) = parent_id.and_then(|id| SpanId::from_hex(id).ok()) {
        let sampled = u8::from_str_radix(flags, 16).is_ok_and(|f| f & 1 == 1);
        let flags = if sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        };
        let caller = SpanContext::new(trace, parent, flags, true, TraceState::default());
        let _ = span.set_parent(Context::new().with_remote_span_context(caller));
    }
    // Starting the span now, on this thread, makes the SDK draw its ids from NEXT_IDS.
    NEXT_IDS.set(Some((trace, own)));
    let _ = span.context();
    NEXT_IDS.set(None);
}
