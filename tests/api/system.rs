//! System routes: health, readiness (with Redis really stopped), version, docs, spec.

use crate::helpers::{OwnedRedis, TestConfig, json_body, spawn_app, spawn_app_with};

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
    let app = spawn_app_with(
        TestConfig::new(&crate::helpers::shared_redis_url()).set("BUILD_COMMIT", "abc1234"),
    )
    .await;

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
async fn readiness_follows_redis_down_and_back_while_health_stays_up() {
    let redis = OwnedRedis::start().await;
    let app = spawn_app_with(TestConfig::new(&redis.url).set("REDIS_TIMEOUT_MS", "300")).await;
    assert_eq!(app.get("/ready").await.status(), 200);

    redis.stop().await;
    let down = app.get("/ready").await;
    let health = app.get("/health").await;

    assert_eq!(down.status(), 503);
    assert!(down.headers().contains_key("retry-after"));
    let body = json_body(down).await;
    assert_eq!(body["ready"], false);
    assert_eq!(body["checks"]["redis"]["ok"], false);
    assert!(body["checks"]["redis"]["error"].is_string());
    assert_eq!(health.status(), 200);

    redis.resume().await;
    // The connection manager reconnects in the background; no restart of the app.
    let mut status = 0;
    for _ in 0..50 {
        status = app.get("/ready").await.status().as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "ready again after Redis returned");
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

#[tokio::test]
async fn metrics_are_exposed_in_prometheus_text_format() {
    let app = spawn_app().await;
    app.get("/health").await;
    app.client
        .post(app.url("/api/simulate"))
        .header("X-Actor-ID", "metered")
        .json(&serde_json::json!({ "event_id": "demo_008", "iterations": 100 }))
        .send()
        .await
        .unwrap();

    let text = app.get("/metrics").await.text().await.unwrap();

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
}

#[tokio::test]
async fn a_redis_password_in_the_url_is_used_and_a_wrong_one_is_reported() {
    let redis = OwnedRedis::start_with_password("s3cret-pass").await;
    let wrong_url = redis.url.replace("s3cret-pass", "wrong-pass");
    let app = spawn_app_with(TestConfig::new(&redis.url)).await;
    let refused = spawn_app_with(TestConfig::new(&wrong_url).set("REDIS_TIMEOUT_MS", "300")).await;

    let ready = app.get("/ready").await;
    let simulated = app
        .client
        .post(app.url("/api/simulate"))
        .header("X-Actor-ID", "auth")
        .json(&serde_json::json!({ "event_id": "demo_001", "iterations": 100 }))
        .send()
        .await
        .unwrap();
    let not_ready = refused.get("/ready").await;

    assert_eq!(ready.status(), 200);
    assert_eq!(simulated.status(), 200);
    assert_eq!(not_ready.status(), 503);
    let body = json_body(not_ready).await;
    let error = body["checks"]["redis"]["error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        !error.contains("wrong-pass"),
        "no secret in the report: {error}"
    );
}

#[tokio::test]
async fn a_tls_redis_is_reached_through_rediss_and_its_certificate_is_verified() {
    let (redis, ca_file) = OwnedRedis::start_tls().await;
    let trusting = spawn_app_with(
        TestConfig::new(&redis.url).set("REDIS_TLS_CA_FILE", ca_file.to_str().unwrap()),
    )
    .await;
    let admin_token = "admin-token-0123456789";
    let untrusting = spawn_app_with(
        TestConfig::new(&redis.url)
            .set("REDIS_TIMEOUT_MS", "500")
            .set("ADMIN_TOKEN", admin_token),
    )
    .await;

    let ready = trusting.get("/ready").await;
    let simulated = trusting
        .client
        .post(trusting.url("/api/simulate"))
        .header("X-Actor-ID", "tls")
        .json(&serde_json::json!({ "event_id": "demo_001", "iterations": 100, "seed": 5 }))
        .send()
        .await
        .unwrap();
    let refused = untrusting
        .client
        .get(untrusting.url("/ready"))
        .bearer_auth(admin_token)
        .send()
        .await
        .unwrap();
    let anonymous = json_body(untrusting.get("/ready").await).await;

    assert_eq!(ready.status(), 200, "{}", ready.text().await.unwrap());
    assert_eq!(simulated.status(), 200);
    assert_eq!(
        refused.status(),
        503,
        "a certificate from an unknown CA is refused"
    );
    let report = json_body(refused).await;
    let error = report["checks"]["redis"]["error"]
        .as_str()
        .unwrap()
        .to_lowercase();
    assert!(error.contains("certificate"), "the admin sees why: {error}");
    let summary = anonymous["checks"]["redis"]["error"].as_str().unwrap();
    assert!(
        !summary.to_lowercase().contains("certificate"),
        "an anonymous caller sees only a summary: {summary}"
    );
}
