//! System routes: health, version, docs, spec, metrics. (Readiness with Redis really
//! stopped is in `single_node::redis_outage`.)

use crate::helpers::{
    TestConfig, json_body, shared_redis_url, spawn_app, spawn_app_with, spawn_process,
};

#[tokio::test]
async fn health_reports_ok_with_service_and_version() {
    let app = spawn_app().await;

    let response = app.get("/health").await;

    assert_eq!(response.status(), 200);
    let body = json_body(response).await;
    assert_eq!(body["status"], "ok");
    assert_eq!(body["service"], "trickster-oracle-api");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn version_reports_build_commit_and_model() {
    let app =
        spawn_app_with(TestConfig::new(&shared_redis_url()).set("BUILD_COMMIT", "abc1234")).await;

    let body = json_body(app.get("/version").await).await;

    assert_eq!(body["build_commit"], "abc1234");
    assert_eq!(body["environment"], "test");
    assert!(
        body["model_version"]
            .as_str()
            .is_some_and(|v| !v.is_empty())
    );
}

#[tokio::test]
async fn served_openapi_document_matches_the_committed_one() {
    let app = spawn_app().await;

    let served: serde_json::Value = json_body(app.get("/openapi.json").await).await;

    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.json");
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("docs/openapi.json exists"))
            .expect("docs/openapi.json is JSON");
    assert!(
        served == committed,
        "docs/openapi.json is stale: regenerate it with `cargo run -q -- openapi > docs/openapi.json`"
    );
}

#[tokio::test]
async fn swagger_ui_is_served_without_network_access() {
    let app = spawn_app().await;

    let response = app.get("/docs").await;

    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "Swagger UI page");
    assert!(
        !html.contains("unpkg.com") && !html.contains("cdn.jsdelivr"),
        "assets are inlined"
    );
}

/// The value of the one sample of `name` whose labels include `labels`.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut found = text.lines().filter_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let (series_name, label_text) = match series.split_once('{') {
            Some((n, rest)) => (n, rest.strip_suffix('}')?),
            None => (series, ""),
        };
        let has = |(key, value): &(&str, &str)| {
            label_text
                .split(',')
                .any(|pair| pair == format!("{key}=\"{value}\""))
        };
        if series_name != name || !labels.iter().all(has) {
            return None;
        }
        value.parse::<f64>().ok()
    });
    let first = found.next();
    assert!(found.next().is_none(), "one sample of {name} {labels:?}");
    first
}

#[tokio::test]
async fn metrics_are_exposed_in_prometheus_text_format() {
    // A process of its own: the metrics recorder is process-wide, and every in-process
    // instance of the other tests writes to the test binary's. This one counts only the
    // requests below (and the tool's GET /ready polls).
    let service = spawn_process(&TestConfig::new(&shared_redis_url())).await;
    let client = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", service.base_url());
    let health = client.get(url("/health")).send().await.unwrap();
    let simulated = client
        .post(url("/api/simulate"))
        .header("X-Actor-ID", "metered")
        .json(&serde_json::json!({ "event_id": "demo_008", "iterations": 100 }))
        .send()
        .await
        .unwrap();

    let text = client
        .get(url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    assert_eq!(
        (health.status().as_u16(), simulated.status().as_u16()),
        (200, 200)
    );
    for series in [
        "trickster_http_requests_total",
        "trickster_http_request_duration_seconds_bucket",
        "route=\"/health\"",
        "trickster_simulation_cache_total{outcome=\"miss\"}",
        "trickster_ledger_tokens_total{kind=\"spend\"}",
        "trickster_engine_duration_seconds",
        "trickster_redis_script_duration_seconds",
    ] {
        assert!(text.contains(series), "{series} missing from {text}");
    }
    let get_health = [("method", "GET"), ("route", "/health"), ("status", "200")];
    let post_simulate = [
        ("method", "POST"),
        ("route", "/api/simulate"),
        ("status", "200"),
    ];
    for (name, labels, value) in [
        ("trickster_http_requests_total", &get_health[..], 1.0),
        ("trickster_http_requests_total", &post_simulate[..], 1.0),
        (
            "trickster_http_request_duration_seconds_count",
            &post_simulate[..],
            1.0,
        ),
        (
            "trickster_simulation_cache_total",
            &[("outcome", "miss")][..],
            1.0,
        ),
        (
            "trickster_ledger_tokens_total",
            &[("kind", "spend")][..],
            1.0,
        ),
        ("trickster_engine_iterations_total", &[][..], 100.0),
        ("trickster_engine_duration_seconds_count", &[][..], 1.0),
    ] {
        assert_eq!(
            sample(&text, name, labels),
            Some(value),
            "{name} {labels:?} in {text}"
        );
    }
}
