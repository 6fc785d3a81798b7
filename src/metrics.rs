//! Prometheus metrics: one process-wide recorder, rendered by `GET /metrics`.
//!
//! Every name starts with `trickster_` and has a `# HELP` line ([`NAMES`], the one list the
//! operations docs, the dashboard and the alert rules are checked against). Labels come from
//! closed sets: routes are the document's path templates (else `unmatched`), methods the
//! standard ones (else `other`), scripts and outcomes fixed names — so the number of series
//! cannot grow with traffic. Process metrics are read from `/proc` when rendering.

use std::{
    collections::HashMap,
    sync::{LazyLock, OnceLock, RwLock},
    time::Duration,
};

use metrics::{Counter, Gauge, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Latency buckets in seconds: fine below 10 ms, where cached responses live.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Every metric the service exports, with its help text.
pub const NAMES: [(&str, &str); 24] = [
    (
        "trickster_build_info",
        "Always 1; the labels name the version, commit and model version.",
    ),
    (
        "trickster_http_requests_total",
        "HTTP requests answered, by method, route template and status.",
    ),
    (
        "trickster_http_request_duration_seconds",
        "Time to answer an HTTP request, by method, route template and status.",
    ),
    (
        "trickster_http_requests_in_flight",
        "HTTP requests being handled now (probes aside).",
    ),
    (
        "trickster_overloaded_total",
        "Requests refused with 503 overloaded, by the limit reached (in_flight, engine_queue).",
    ),
    (
        "trickster_simulation_cache_total",
        "Simulations by where their numbers came from: hit, collapsed (waited for another request), miss (computed).",
    ),
    (
        "trickster_engine_duration_seconds",
        "Engine time of one computed simulation.",
    ),
    (
        "trickster_engine_iterations_total",
        "Monte Carlo iterations computed.",
    ),
    (
        "trickster_engine_queue_depth",
        "Simulations holding a place in the engine queue (running or waiting).",
    ),
    (
        "trickster_engine_queue_wait_seconds",
        "Time a simulation waited for an engine thread.",
    ),
    (
        "trickster_ledger_tokens_total",
        "Tokens moved by the ledger, by kind: spend, refund (a failed request), release (a hold whose request never finished, after its lease), grant.",
    ),
    (
        "trickster_rate_limited_total",
        "Requests refused with 429 by the rate limit.",
    ),
    (
        "trickster_redis_errors_total",
        "Redis calls that failed or timed out, by operation (a script name, or command).",
    ),
    (
        "trickster_redis_script_duration_seconds",
        "Time of one Redis script call, by script.",
    ),
    (
        "trickster_redis_up",
        "1 when the last Redis call of this instance succeeded, 0 when it failed.",
    ),
    (
        "trickster_redis_replica_wait_seconds",
        "Time an account change waited for REDIS_MIN_REPLICA_ACKS replicas to confirm it (WAIT).",
    ),
    (
        "trickster_redis_unconfirmed_total",
        "Account changes the replicas did not confirm within the request's deadline (answered 503).",
    ),
    (
        "trickster_redis_primary_changes_total",
        "Times the Sentinels named another primary and this instance followed it (Sentinel mode).",
    ),
    (
        "trickster_process_cpu_seconds_total",
        "CPU time of the process, user and system.",
    ),
    (
        "trickster_process_resident_memory_bytes",
        "Resident memory of the process.",
    ),
    (
        "trickster_process_open_fds",
        "Open file descriptors of the process.",
    ),
    (
        "trickster_process_start_time_seconds",
        "When the process started, seconds since the epoch.",
    ),
    (
        "trickster_process_max_fds",
        "The process's limit on open file descriptors.",
    ),
    (
        "trickster_info_local_cache_bytes",
        "Size limit of this instance's copy of recent results.",
    ),
];

/// Whether a handle may be kept for reuse: only one made once the recorder is installed (one
/// made earlier would record nowhere for good).
fn keeps_handles() -> bool {
    HANDLE.get().is_some()
}

/// Handles of one metric by a label value from a closed set, registered once: a macro call
/// hashes the whole key and searches the registry every time, and the paths every request
/// takes should not.
struct Series<T>(LazyLock<RwLock<HashMap<&'static str, T>>>);

impl<T: Clone> Series<T> {
    const fn new() -> Self {
        Self(LazyLock::new(RwLock::default))
    }

    fn get(&self, label: &'static str, register: impl FnOnce() -> T) -> T {
        if !keeps_handles() {
            return register();
        }
        if let Some(handle) = self.0.read().ok().and_then(|all| all.get(label).cloned()) {
            return handle;
        }
        let handle = register();
        if let Ok(mut all) = self.0.write() {
            all.insert(label, handle.clone());
        }
        handle
    }
}

/// Installs the recorder once per process and returns the handle used for rendering.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
            .and_then(PrometheusBuilder::install_recorder)
            .expect("a Prometheus recorder can be installed once per process");
        for (name, help) in NAMES {
            metrics::describe_counter!(name, help);
        }
        register_closed_counters();
        handle
    })
}

/// Label values of the counters whose labels come from a closed set.
const LEDGER_KINDS: [&str; 4] = ["spend", "refund", "release", "grant"];
const CACHE_OUTCOMES: [&str; 3] = ["hit", "collapsed", "miss"];
const OVERLOAD_LIMITS: [&str; 2] = ["in_flight", "engine_queue"];

/// Creates every series of the closed-set counters at zero. A counter series that first
/// appears with the value 1 shows no increase to `rate()` or `increase()`, so an alert on the
/// first hold ever released would never fire; and a dashboard panel has data from the start.
fn register_closed_counters() {
    for kind in LEDGER_KINDS {
        metrics::counter!("trickster_ledger_tokens_total", "kind" => kind).increment(0);
    }
    for outcome in CACHE_OUTCOMES {
        metrics::counter!("trickster_simulation_cache_total", "outcome" => outcome).increment(0);
    }
    for limit in OVERLOAD_LIMITS {
        metrics::counter!("trickster_overloaded_total", "limit" => limit).increment(0);
    }
    metrics::counter!("trickster_rate_limited_total").increment(0);
}

/// Identifies the build in `trickster_build_info`, and the size of the local copy.
pub fn describe_build(version: &str, commit: &str, model_version: &str, local_cache_bytes: u64) {
    metrics::gauge!(
        "trickster_build_info",
        "version" => version.to_owned(),
        "commit" => commit.to_owned(),
        "model_version" => model_version.to_owned(),
    )
    .set(1.0);
    metrics::gauge!("trickster_info_local_cache_bytes").set(local_cache_bytes as f64);
}

pub fn render() -> String {
    process::record();
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

/// The request series of one (method, route, status): registered once, then reused, so a
/// request costs no label strings and no registry lookup.
type RequestSeries = (metrics::Counter, metrics::Histogram);

pub fn record_request(method: &poem::http::Method, route: &str, status: u16, elapsed: Duration) {
    type ByRoute = HashMap<String, HashMap<(&'static str, u16), RequestSeries>>;
    static SERIES: LazyLock<RwLock<ByRoute>> = LazyLock::new(RwLock::default);
    let method = method_label(method);
    let known = SERIES.read().ok().and_then(|series| {
        series
            .get(route)
            .and_then(|by_outcome| by_outcome.get(&(method, status)))
            .cloned()
    });
    let (requests, duration) = known.unwrap_or_else(|| {
        let labels = [
            ("method", method.to_owned()),
            ("route", route.to_owned()),
            ("status", status.to_string()),
        ];
        let series = (
            metrics::counter!("trickster_http_requests_total", &labels),
            metrics::histogram!("trickster_http_request_duration_seconds", &labels),
        );
        if keeps_handles()
            && let Ok(mut all) = SERIES.write()
        {
            all.entry(route.to_owned())
                .or_default()
                .insert((method, status), series.clone());
        }
        series
    });
    requests.increment(1);
    duration.record(elapsed.as_secs_f64());
}

/// Requests being handled (probes aside).
pub fn set_requests_in_flight(count: usize) {
    static IN_FLIGHT: Series<Gauge> = Series::new();
    IN_FLIGHT
        .get("", || metrics::gauge!("trickster_http_requests_in_flight"))
        .set(count as f64);
}

pub fn record_overloaded(limit: &'static str) {
    debug_assert!(OVERLOAD_LIMITS.contains(&limit), "{limit}");
    metrics::counter!("trickster_overloaded_total", "limit" => limit).increment(1);
}

pub fn record_script(script: &'static str, elapsed: Duration) {
    static SERIES: Series<Histogram> = Series::new();
    SERIES
        .get(
            script,
            || metrics::histogram!("trickster_redis_script_duration_seconds", "script" => script),
        )
        .record(elapsed.as_secs_f64());
}

/// The outcome of a Redis call: errors are counted, and the connection state follows.
pub fn record_redis(operation: &'static str, ok: bool) {
    static UP: Series<Gauge> = Series::new();
    UP.get("", || metrics::gauge!("trickster_redis_up"))
        .set(if ok { 1.0 } else { 0.0 });
    if !ok {
        metrics::counter!("trickster_redis_errors_total", "operation" => operation).increment(1);
    }
}

/// The instance followed the Sentinels to another primary.
pub fn record_redis_primary_change() {
    metrics::counter!("trickster_redis_primary_changes_total").increment(1);
}

/// An account change waited this long for its replicas.
pub fn record_replica_wait(elapsed: Duration) {
    metrics::histogram!("trickster_redis_replica_wait_seconds").record(elapsed.as_secs_f64());
}

/// An account change the replicas did not confirm in time.
pub fn record_unconfirmed() {
    metrics::counter!("trickster_redis_unconfirmed_total").increment(1);
}

pub fn record_cache(outcome: &'static str) {
    debug_assert!(CACHE_OUTCOMES.contains(&outcome), "{outcome}");
    static SERIES: Series<Counter> = Series::new();
    SERIES
        .get(
            outcome,
            || metrics::counter!("trickster_simulation_cache_total", "outcome" => outcome),
        )
        .increment(1);
}

pub fn record_engine(iterations: u32, elapsed: Duration) {
    metrics::histogram!("trickster_engine_duration_seconds").record(elapsed.as_secs_f64());
    metrics::counter!("trickster_engine_iterations_total").increment(u64::from(iterations));
}

/// Simulations holding a place in the engine queue (running or waiting).
pub fn set_engine_queue_depth(depth: usize) {
    metrics::gauge!("trickster_engine_queue_depth").set(depth as f64);
}

pub fn record_engine_wait(waited: Duration) {
    metrics::histogram!("trickster_engine_queue_wait_seconds").record(waited.as_secs_f64());
}

pub fn record_rate_limited() {
    metrics::counter!("trickster_rate_limited_total").increment(1);
}

pub fn record_tokens(kind: &'static str, amount: i64) {
    debug_assert!(LEDGER_KINDS.contains(&kind), "{kind}");
    static SERIES: Series<Counter> = Series::new();
    SERIES
        .get(
            kind,
            || metrics::counter!("trickster_ledger_tokens_total", "kind" => kind),
        )
        .increment(amount.unsigned_abs());
}

/// The process's own figures, from `/proc` (Linux); elsewhere they are simply absent.
mod process {
    use std::fs;

    /// Clock ticks per second of `/proc/<pid>/stat` times (`USER_HZ`, 100 on Linux for every
    /// architecture the service ships for).
    const TICKS_PER_SECOND: f64 = 100.0;

    pub fn record() {
        if let Some((cpu, start)) = cpu_and_start() {
            metrics::gauge!("trickster_process_cpu_seconds_total").set(cpu);
            metrics::gauge!("trickster_process_start_time_seconds").set(start);
        }
        if let Some(rss) = resident_bytes() {
            metrics::gauge!("trickster_process_resident_memory_bytes").set(rss);
        }
        if let Ok(fds) = fs::read_dir("/proc/self/fd") {
            metrics::gauge!("trickster_process_open_fds").set(fds.count() as f64);
        }
        if let Some(max) = max_fds() {
            metrics::gauge!("trickster_process_max_fds").set(max);
        }
    }

    /// CPU seconds (user + system) and the start time in seconds since the epoch.
    fn cpu_and_start() -> Option<(f64, f64)> {
        let stat = fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the command name, which is in parentheses and may hold spaces.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
        // utime, stime and starttime are fields 14, 15 and 22 of the line; 3 is fields[0].
        let cpu = (ticks(11)? + ticks(12)?) / TICKS_PER_SECOND;
        let started_after_boot = ticks(19)? / TICKS_PER_SECOND;
        let boot = fs::read_to_string("/proc/stat")
            .ok()?
            .lines()
            .find_map(|line| line.strip_prefix("btime "))?
            .trim()
            .parse::<f64>()
            .ok()?;
        Some((cpu, boot + started_after_boot))
    }

    fn resident_bytes() -> Option<f64> {
        let status = fs::read_to_string("/proc/self/status").ok()?;
        let kib = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse::<f64>()
            .ok()?;
        Some(kib * 1024.0)
    }

    fn max_fds() -> Option<f64> {
        let limits = fs::read_to_string("/proc/self/limits").ok()?;
        let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
        line.split_whitespace().nth(3)?.parse::<f64>().ok()
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn the_process_reads_its_own_figures() {
            let (cpu, start) = super::cpu_and_start().expect("/proc/self/stat");
            assert!(cpu >= 0.0);
            assert!(start > 1.6e9, "{start}");
            assert!(super::resident_bytes().unwrap() > 1e6);
            assert!(super::max_fds().unwrap() >= 64.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_named_once_with_the_prefix_and_help() {
        let mut names: Vec<&str> = NAMES.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), NAMES.len());
        for (name, help) in NAMES {
            assert!(name.starts_with("trickster_"), "{name}");
            assert!(help.ends_with('.'), "{name}: {help}");
        }
    }

    #[test]
    fn closed_set_counters_are_exported_from_zero() {
        let text = render();

        for series in [
            "trickster_ledger_tokens_total{kind=\"release\"}",
            "trickster_simulation_cache_total{outcome=\"collapsed\"}",
            "trickster_overloaded_total{limit=\"engine_queue\"}",
            "trickster_rate_limited_total",
        ] {
            assert!(text.contains(series), "{series} missing from {text}");
        }
    }
}
