//! Smaller promises of the contract, and what a hostile caller can make Redis keep.

use serde_json::json;
use trickster_oracle::{
    domain::digest::sha256_hex,
    store::{Keys, Slot, idempotency::Operation},
};

use crate::helpers::{
    TestApp, TestConfig, assert_problem, header, json_body, shared_redis_url, spawn_app_with,
};

const ADMIN: &str = "admin-token-for-contract-0123";

fn config() -> TestConfig {
    TestConfig::new(&shared_redis_url()).set("ADMIN_TOKEN", ADMIN)
}

fn keys(app: &TestApp) -> Keys {
    Keys::new(app.config.vars["REDIS_KEY_PREFIX"].clone())
}

#[tokio::test]
async fn every_simulate_answer_carries_cache_status() {
    let app = spawn_app_with(
        config()
            .set("DAILY_TOKENS", "0")
            .set("RATE_LIMIT_BURST", "3")
            .set("CACHE_WAIT_MS", "5000"),
    )
    .await;
    let app = &app;
    let simulate = |key: &'static str, seed: u64| async move {
        let body = json!({ "event_id": "demo_001", "iterations": 1000, "seed": seed });
        app.simulate_with_key("cs", key, &body).await
    };

    let broke = simulate("k1", 1).await;
    let mismatch = simulate("k1", 2).await;
    let _third = simulate("k3", 3).await;
    let limited = simulate("k4", 4).await;

    for (response, status) in [(broke, 402), (mismatch, 422), (limited, 429)] {
        assert_eq!(response.status(), status);
        assert_eq!(
            header(&response, "cache-status"),
            "trickster-oracle; fwd=miss"
        );
    }
}

#[tokio::test]
async fn a_grant_retried_after_its_claim_was_lost_answers_what_was_credited() {
    let app = spawn_app_with(config()).await;
    let app = &app;
    let grant = |amount: i64| async move {
        let body = json!({ "actor_id": "gil", "amount": amount });
        app.grant(ADMIN, Some("grant-key"), &body).await
    };
    assert_eq!(grant(3).await.status(), 201);
    // The grant happened but its idempotency record is gone, as after a lost reply whose
    // claim was then dropped.
    let record = keys(app).idempotency(
        &Slot::Admin,
        Operation::Grant.scope(),
        &sha256_hex("grant-key"),
    );
    let mut redis = app.redis_conn().await;
    let _: () = redis::cmd("DEL")
        .arg(record)
        .query_async(&mut redis)
        .await
        .unwrap();

    let other_amount = grant(7).await;
    let same_amount = grant(3).await;

    assert_problem(other_amount, 422, "idempotency_key_mismatch").await;
    assert_eq!(same_amount.status(), 201);
    let body = json_body(same_amount).await;
    assert_eq!(body["amount"], 3);
    assert_eq!(body["balance"], 8, "credited once: 5 + 3");
}

#[tokio::test]
async fn a_flood_of_new_actors_leaves_only_keys_that_expire() {
    let app = spawn_app_with(config()).await;

    for i in 0..200 {
        let response = app.balance(&format!("flood-{i}")).await;
        assert_eq!(response.status(), 200);
    }

    let prefix = &app.config.vars["REDIS_KEY_PREFIX"];
    let mut redis = app.redis_conn().await;
    let written: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(
        written.len() >= 400,
        "accounts and ledgers: {}",
        written.len()
    );
    for key in written {
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&key)
            .query_async(&mut redis)
            .await
            .unwrap();
        assert!(ttl > 0, "{key} would stay forever");
    }
}

#[tokio::test]
async fn a_caller_cannot_hold_more_than_its_share_of_idempotency_records() {
    let app = spawn_app_with(config().set("IDEMPOTENCY_MAX_KEYS", "3")).await;
    let body = json!({ "event_id": "demo_001", "iterations": 1000, "seed": 91 });
    let simulate = |key: String| {
        app.client
            .post(app.url("/api/simulate"))
            .header("X-Actor-ID", "hoarder")
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };

    let mut statuses = Vec::new();
    for i in 0..5 {
        statuses.push(
            simulate(format!("key-{i}"))
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    let again = simulate("key-1".into()).await.unwrap();

    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    assert_eq!(again.status(), 200, "a key it holds still replays");
    let prefix = &app.config.vars["REDIS_KEY_PREFIX"];
    let mut redis = app.redis_conn().await;
    let records: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:{{a:hoarder}}:idem:*"))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(records.len(), 3);
}
