//! The request envelope: request ids and problem+json for every class of error.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn a_valid_client_request_id_is_echoed() {
    let app = spawn_app().await;

    let response = app
        .client
        .get(app.url("/health"))
        .header("X-Request-ID", "client-abc.123:x_y")
        .send()
        .await
        .unwrap();

    assert_eq!(response.headers()["x-request-id"], "client-abc.123:x_y");
}

#[tokio::test]
async fn an_invalid_client_request_id_is_replaced() {
    let app = spawn_app().await;

    for bad in ["has space", "semi;colon", &"x".repeat(129)] {
        let response = app
            .client
            .get(app.url("/health"))
            .header("X-Request-ID", bad)
            .send()
            .await
            .unwrap();

        let id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_ne!(id, bad);
        assert!(
            uuid::Uuid::parse_str(&id).is_ok(),
            "{id} is a generated UUID"
        );
    }
}

#[tokio::test]
async fn a_request_id_is_generated_when_absent_and_timing_is_reported() {
    let app = spawn_app().await;

    let response = app.get("/health").await;

    let id = response.headers()["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok());
    let timing = response.headers()["server-timing"].to_str().unwrap();
    assert!(timing.starts_with("app;dur="), "{timing}");
}

#[tokio::test]
async fn an_unknown_route_is_a_404_problem_with_the_request_id() {
    let app = spawn_app().await;

    let response = app
        .client
        .get(app.url("/no/such/route"))
        .header("X-Request-ID", "trace-404")
        .send()
        .await
        .unwrap();

    let body = assert_problem(response, 404, "not_found").await;
    assert_eq!(body["request_id"], "trace-404");
    assert_eq!(body["instance"], "/no/such/route");
}

#[tokio::test]
async fn a_wrong_method_is_a_405_problem() {
    let app = spawn_app().await;

    let response = app.client.delete(app.url("/health")).send().await.unwrap();

    assert_eq!(response.headers()["allow"], "GET");
    assert_problem(response, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413_problem() {
    let app = spawn_app().await;
    let big = "x".repeat(70_000);

    let response = app
        .as_actor(Method::POST, "/api/simulate", "alice")
        .header("content-type", "application/json")
        .body(json!({ "event_id": big }).to_string())
        .send()
        .await
        .unwrap();

    assert_problem(response, 413, "payload_too_large").await;
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_a_413_problem() {
    let app = spawn_app().await;
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..20).map(|_| Ok(vec![b' '; 8_192])).collect();
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));

    let response = app
        .as_actor(Method::POST, "/api/simulate", "alice")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();

    assert_problem(response, 413, "payload_too_large").await;
}

#[tokio::test]
async fn a_wrong_content_type_is_a_415_problem() {
    let app = spawn_app().await;

    let response = app
        .as_actor(Method::POST, "/api/simulate", "alice")
        .header("content-type", "text/plain")
        .body("event_id=demo_001")
        .send()
        .await
        .unwrap();

    assert_problem(response, 415, "unsupported_media_type").await;
}

#[tokio::test]
async fn malformed_json_is_a_400_problem() {
    let app = spawn_app().await;

    let response = app
        .as_actor(Method::POST, "/api/simulate", "alice")
        .header("content-type", "application/json")
        .body("{\"event_id\": ")
        .send()
        .await
        .unwrap();

    assert_problem(response, 400, "invalid_request").await;
}
