//! Results people can share: a stored simulation by its fingerprint, and the in-process copy
//! that lets a cache hit cost one Redis command.

use serde_json::{Value, json};
use trickster_oracle::store::scripts;

use crate::{
    helpers::{TestApp, TestConfig, assert_problem, json_body, shared_redis_url, spawn_app_with},
    single_node::proxy::RedisProxy,
};

async fn simulate(app: &TestApp, actor: &str, body: &Value) -> Value {
    let response = app.simulate(actor, body).await;
    assert_eq!(response.status(), 200);
    json_body(response).await
}

/// Everything of a result but its `meta`.
fn numbers(result: &Value) -> Value {
    let mut numbers = result.clone();
    numbers.as_object_mut().unwrap().remove("meta");
    numbers
}

#[tokio::test]
async fn a_result_is_fetched_by_its_fingerprint_for_free() {
    let app = spawn_app_with(TestConfig::new(&shared_redis_url())).await;
    let computed = simulate(
        &app,
        "sharer",
        &json!({ "event_id": "demo_002", "iterations": 2000, "seed": 101 }),
    )
    .await;
    let fingerprint = computed["meta"]["fingerprint"].as_str().unwrap();
    // Another instance, without its own copy, reads it from Redis.
    let other = app.sibling().await;
    let before = other.balance_amount("viewer").await;

    let fetched = other
        .client
        .get(other.url(&format!("/api/simulations/{fingerprint}")))
        .header("X-Actor-ID", "viewer")
        .send()
        .await
        .unwrap();
    let etag = fetched.headers()["etag"].to_str().unwrap().to_owned();
    let cache_control = fetched.headers()["cache-control"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(fetched.headers().contains_key("ratelimit"));
    let body = json_body(fetched).await;
    let revalidated = other
        .client
        .get(other.url(&format!("/api/simulations/{fingerprint}")))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();

    assert_eq!(etag, format!("\"{fingerprint}\""));
    assert!(
        cache_control.starts_with("public, max-age=3600"),
        "{cache_control}"
    );
    assert!(cache_control.ends_with("immutable"));
    let mut expected = numbers(&computed);
    expected["event"]
        .as_object_mut()
        .unwrap()
        .remove("event_id");
    assert_eq!(
        numbers(&body),
        expected,
        "the same numbers, the match without its id"
    );
    assert_eq!(body["meta"]["cache_hit"], true);
    assert_eq!(body["meta"]["cost_tokens"], 0);
    assert_ne!(body["meta"]["request_id"], computed["meta"]["request_id"]);
    assert_eq!(revalidated.status(), 304);
    assert_eq!(
        other.balance_amount("viewer").await,
        before,
        "no token spent"
    );
}

#[tokio::test]
async fn a_result_past_its_lifetime_is_a_404_that_says_how_to_get_it_back() {
    let app = spawn_app_with(TestConfig::new(&shared_redis_url())).await;

    let gone = app
        .get(&format!("/api/simulations/{}", "ab".repeat(32)))
        .await;
    let malformed = app.get("/api/simulations/not-a-fingerprint").await;

    let problem = assert_problem(gone, 404, "not_found").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("POST /api/simulate"),
        "{problem}"
    );
    assert_problem(malformed, 400, "invalid_request").await;
}

#[tokio::test]
async fn a_cache_hit_from_the_instance_copy_costs_one_redis_command() {
    let proxy = RedisProxy::start(shared_redis_url().trim_start_matches("redis://")).await;
    let app = spawn_app_with(TestConfig::new(&proxy.url)).await;
    let body = json!({ "event_id": "demo_003", "iterations": 2000, "seed": 102 });
    simulate(&app, "counter", &body).await;
    proxy.take_commands();

    let hit = simulate(&app, "counter", &body).await;
    let commands = proxy.take_commands();

    assert_eq!(hit["meta"]["cache_hit"], true);
    assert_eq!(commands.len(), 1, "{commands:?}");
    assert!(commands[0].contains("EVALSHA"), "{commands:?}");
    assert!(
        commands[0].contains(scripts::RATE.sha()),
        "admission only: {commands:?}"
    );
}
