//! Prometheus metrics: one process-wide recorder, rendered by `GET /metrics`.
//!
//! Names and labels are kept to a small, bounded set (routes are path *patterns*, never raw
//! paths) so the series count cannot grow with traffic.

use std::{sync::OnceLock, time::Duration};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Latency buckets in seconds: fine below 10 ms, where cached responses live.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Installs the recorder once per process and returns the handle used for rendering.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
            .and_then(PrometheusBuilder::install_recorder)
            .expect("a Prometheus recorder can be installed once per process")
    })
}

pub fn render() -> String {
    handle().render()
}

/// The method label: a standard method, else `other` (any token is a valid method, so
/// labelling by what the client sent would let it create series without bound).
fn method_label(method: &poem::http::Method) -> &'static str {
    use poem::http::Method;
    const STANDARD: [(Method, &str); 9] = [
        (Method::GET, "GET"),
        (Method::HEAD, "HEAD"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::DELETE, "DELETE"),
        (Method::PATCH, "PATCH"),
        (Method::OPTIONS, "OPTIONS"),
        (Method::CONNECT, "CONNECT"),
        (Method::TRACE, "TRACE"),
    ];
    STANDARD
        .iter()
        .find(|(m, _)| m == method)
        .map_or("other", |(_, label)| label)
}

pub fn record_request(method: &poem::http::Method, route: &str, status: u16, elapsed: Duration) {
    let labels = [
        ("method", method_label(method).to_owned()),
        ("route", route.to_owned()),
        ("status", status.to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels).record(elapsed.as_secs_f64());
}

pub fn record_script(script: &'static str, elapsed: Duration) {
    metrics::histogram!("redis_script_duration_seconds", "script" => script)
        .record(elapsed.as_secs_f64());
}

pub fn record_redis_error(operation: &'static str) {
    metrics::counter!("redis_errors_total", "operation" => operation).increment(1);
}

pub fn record_cache(outcome: &'static str) {
    metrics::counter!("simulation_cache_total", "outcome" => outcome).increment(1);
}

pub fn record_engine(iterations: u32, elapsed: Duration) {
    metrics::histogram!("engine_duration_seconds").record(elapsed.as_secs_f64());
    metrics::counter!("engine_iterations_total").increment(u64::from(iterations));
}

pub fn record_overloaded(limit: &'static str) {
    metrics::counter!("overloaded_total", "limit" => limit).increment(1);
}

pub fn record_rate_limited() {
    metrics::counter!("rate_limit_denied_total").increment(1);
}

pub fn record_tokens(kind: &'static str, amount: i64) {
    metrics::counter!("tokens_total", "kind" => kind).increment(amount.unsigned_abs());
}

/// Simulations holding a place in the engine queue (running or waiting).
pub fn set_engine_queue_depth(depth: usize) {
    metrics::gauge!("engine_queue_depth").set(depth as f64);
}

/// Requests being handled (probes aside).
pub fn set_requests_in_flight(count: usize) {
    metrics::gauge!("http_requests_in_flight").set(count as f64);
}
