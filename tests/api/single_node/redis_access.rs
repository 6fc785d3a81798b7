//! Reaching a Redis that asks more of its clients: a password (AUTH) and TLS with a private
//! CA. Each test starts a Redis of its own.

use serde_json::json;

use crate::helpers::{OwnedRedis, TestConfig, json_body, spawn_app_with};

#[tokio::test]
async fn a_redis_password_in_the_url_is_used_and_a_wrong_one_is_reported() {
    let redis = OwnedRedis::start_with_password("s3cret-pass").await;
    let wrong_url = redis.url.replace("s3cret-pass", "wrong-pass");
    let app = spawn_app_with(TestConfig::new(&redis.url)).await;
    let refused = spawn_app_with(TestConfig::new(&wrong_url).set("REDIS_TIMEOUT_MS", "300")).await;

    let ready = app.get("/ready").await;
    let simulated = app
        .simulate(
            "auth",
            &json!({ "event_id": "demo_001", "iterations": 100 }),
        )
        .await;
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
        .simulate(
            "tls",
            &json!({ "event_id": "demo_001", "iterations": 100, "seed": 5 }),
        )
        .await;
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
