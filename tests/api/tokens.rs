//! Tokens, idempotency, rate limits and identity through HTTP, across several instances
//! on one Redis.

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, TestConfig, assert_problem, json_body, shared_redis_url, spawn_app_with,
};

const ADMIN: &str = "admin-token-for-tests-0123";

fn config() -> TestConfig {
    TestConfig::new(&shared_redis_url()).set("ADMIN_TOKEN", ADMIN)
}

async fn three(config: TestConfig) -> [TestApp; 3] {
    let a = spawn_app_with(config).await;
    let b = a.sibling().await;
    let c = a.sibling().await;
    [a, b, c]
}

fn sum_of_entries(ledger: &Value) -> i64 {
    ledger["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["amount"].as_i64().unwrap())
        .sum()
}

#[tokio::test]
async fn the_balance_starts_at_the_daily_allowance() {
    let app = spawn_app_with(config()).await;

    let body = json_body(app.balance("newcomer").await).await;

    assert_eq!(body["actor_id"], "newcomer");
    assert_eq!(body["balance"], 5);
    assert_eq!(body["daily_allowance"], 5);
    assert!(
        body["next_allowance_at"]
            .as_str()
            .unwrap()
            .ends_with("T00:00:00.000Z")
    );
}

#[tokio::test]
async fn concurrent_misses_over_three_instances_never_overdraw() {
    let apps = three(config().set("RATE_LIMIT_BURST", "1000")).await;

    let responses = join_all((0..60).map(|seed| {
        let app = &apps[seed % 3];
        async move {
            app.simulate(
                "spender",
                &json!({ "event_id": "demo_001", "seed": seed, "iterations": 200 }),
            )
            .await
            .status()
            .as_u16()
        }
    }))
    .await;

    let ok = responses.iter().filter(|s| **s == 200).count();
    let denied = responses.iter().filter(|s| **s == 402).count();
    assert_eq!((ok, denied), (5, 55), "{responses:?}");
    assert_eq!(apps[1].balance_amount("spender").await, 0);
    let ledger = json_body(apps[2].ledger("spender", 100, None).await).await;
    assert_eq!(sum_of_entries(&ledger), 0);
}

#[tokio::test]
async fn an_insufficient_balance_is_a_402_with_required_and_available() {
    let app = spawn_app_with(config().set("SIMULATION_COST", "7")).await;

    let response = app
        .simulate("poor", &json!({ "event_id": "demo_001", "seed": 1 }))
        .await;

    let problem = assert_problem(response, 402, "insufficient_tokens").await;
    assert_eq!(
        (problem["required"].as_i64(), problem["available"].as_i64()),
        (Some(7), Some(5))
    );
}

#[tokio::test]
async fn one_idempotency_key_over_three_instances_runs_and_charges_once() {
    let apps = three(config().set("RATE_LIMIT_BURST", "1000")).await;
    let body = json!({ "event_id": "demo_002", "iterations": 200_000 });

    let responses = join_all((0..12).map(|i| {
        let app = &apps[i % 3];
        let body = body.clone();
        async move {
            let response = app.simulate_with_key("retrier", "order-42", &body).await;
            let status = response.status().as_u16();
            let replayed = response.headers().contains_key("idempotent-replayed");
            let retry_after = response.headers().contains_key("retry-after");
            (status, replayed, retry_after, json_body(response).await)
        }
    }))
    .await;

    let fresh: Vec<_> = responses.iter().filter(|r| r.0 == 200 && !r.1).collect();
    let replays = responses.iter().filter(|r| r.0 == 200 && r.1).count();
    let conflicts = responses.iter().filter(|r| r.0 == 409).count();
    assert_eq!(fresh.len(), 1, "exactly one execution");
    assert_eq!(replays + conflicts, 11);
    assert!(
        responses.iter().filter(|r| r.0 == 409).all(|r| r.2),
        "409 has Retry-After"
    );
    for replay in responses.iter().filter(|r| r.1) {
        assert_eq!(replay.3["meta"]["idempotency_replay"], true);
        assert_eq!(replay.3["seed"], fresh[0].3["seed"], "the stored response");
    }
    assert_eq!(apps[0].balance_amount("retrier").await, 4, "one charge");

    let late = apps[1]
        .simulate_with_key("retrier", "order-42", &body)
        .await;
    assert_eq!(late.headers()["idempotent-replayed"], "true");
    let other_body = apps[2]
        .simulate_with_key("retrier", "order-42", &json!({ "event_id": "demo_003" }))
        .await;
    assert_problem(other_body, 422, "idempotency_key_mismatch").await;
    let other_actor = apps[0]
        .simulate_with_key("someone-else", "order-42", &body)
        .await;
    assert_eq!(other_actor.status(), 200);
    assert!(
        !other_actor.headers().contains_key("idempotent-replayed"),
        "keys are per actor"
    );
}

#[tokio::test]
async fn a_stored_402_is_replayed_and_the_alternative_header_is_accepted() {
    let app = spawn_app_with(config().set("SIMULATION_COST", "9")).await;
    let body = json!({ "event_id": "demo_001", "seed": 3 });

    let first = app
        .as_actor(Method::POST, "/api/simulate", "broke")
        .header("X-Idempotency-Key", "k")
        .json(&body)
        .send()
        .await
        .unwrap();
    let again = app.simulate_with_key("broke", "k", &body).await;

    assert_eq!(first.status(), 402);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_problem(again, 402, "insufficient_tokens").await;
}

#[tokio::test]
async fn the_burst_is_exact_across_three_instances() {
    let apps = three(
        config()
            .set("RATE_LIMIT_BURST", "9")
            .set("RATE_LIMIT_PER_MINUTE", "6"),
    )
    .await;

    let responses = join_all((0..30).map(|i| {
        let app = &apps[i % 3];
        async move { app.events("burster").await }
    }))
    .await;

    let admitted = responses.iter().filter(|r| r.status() == 200).count();
    assert_eq!(admitted, 9);
    for response in responses.into_iter().filter(|r| r.status() == 429) {
        let retry_after: u64 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            (1..=10).contains(&retry_after),
            "one token per 10 s: {retry_after}"
        );
        assert_eq!(
            response.headers()["ratelimit"].to_str().unwrap(),
            format!("\"default\";r=0;t={retry_after}"),
            "with nothing left, t is when the next request is admitted"
        );
        let problem = assert_problem(response, 429, "rate_limited").await;
        assert_eq!(problem["retry_after_seconds"].as_u64(), Some(retry_after));
    }
}

#[tokio::test]
async fn the_bucket_refills_at_the_configured_rate() {
    // 600 per minute: one token every 100 ms.
    let app = spawn_app_with(
        config()
            .set("RATE_LIMIT_BURST", "2")
            .set("RATE_LIMIT_PER_MINUTE", "600"),
    )
    .await;
    // Empty the bucket (however slowly this machine sends the requests).
    let mut limited = false;
    for _ in 0..50 {
        if app.events("refill").await.status() == 429 {
            limited = true;
            break;
        }
    }
    assert!(limited, "the bucket empties");

    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    let refilled = app.events("refill").await;

    assert_eq!(refilled.status(), 200);
    let header = refilled.headers()["ratelimit-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(header, "\"default\";q=600;w=60", "the sustained quota");
}

#[tokio::test]
async fn anonymous_callers_are_limited_by_address_and_system_routes_never() {
    let app = spawn_app_with(config().set("RATE_LIMIT_BURST", "2")).await;

    let statuses: Vec<u16> = join_all((0..4).map(|_| app.get("/api/events")))
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    let health: Vec<u16> = join_all((0..10).map(|_| app.get("/health")))
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();

    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 2);
    assert!(health.iter().all(|s| *s == 200));
    assert!(!app.get("/health").await.headers().contains_key("ratelimit"));
}

#[tokio::test]
async fn admin_routes_need_the_token_and_vanish_without_one() {
    let app = spawn_app_with(config()).await;
    let disabled = spawn_app_with(TestConfig::new(&shared_redis_url())).await;
    let grant = json!({ "actor_id": "alice", "amount": 3 });

    let missing = app.admin_post("/api/admin/grants", None, &grant).await;
    let wrong = app.grant("wrong-token-0123456789", None, &grant).await;
    let off = disabled.grant(ADMIN, None, &grant).await;

    assert!(missing.headers().contains_key("www-authenticate"));
    assert_problem(missing, 401, "unauthorized").await;
    assert_problem(wrong, 401, "unauthorized").await;
    assert_problem(off, 404, "not_found").await;
}

#[tokio::test]
async fn an_idempotent_grant_credits_once() {
    let app = spawn_app_with(config()).await;
    let grant = json!({ "actor_id": "granted", "amount": 4, "reason": "course" });
    let first = json_body(app.grant(ADMIN, Some("grant-1"), &grant).await).await;
    let second = json_body(app.grant(ADMIN, Some("grant-1"), &grant).await).await;
    let other = app
        .grant(
            ADMIN,
            Some("grant-1"),
            &json!({ "actor_id": "granted", "amount": 5 }),
        )
        .await;

    assert_eq!(first["balance"], 9);
    assert_eq!(second["idempotency_replay"], true);
    assert_eq!(second["entry_id"], first["entry_id"]);
    assert_problem(other, 422, "idempotency_key_mismatch").await;
    assert_eq!(app.balance_amount("granted").await, 9);
    let ledger = json_body(app.ledger("granted", 100, None).await).await;
    assert_eq!(ledger["entries"][0]["kind"], "grant");
    assert_eq!(ledger["entries"][0]["reason"], "course");
    assert_eq!(sum_of_entries(&ledger), 9);
}

#[tokio::test]
async fn api_key_mode_authenticates_by_key_and_ignores_the_actor_header() {
    let app = spawn_app_with(config().set("AUTH_MODE", "api_key")).await;
    let created = app
        .admin_post(
            "/api/admin/api-keys",
            Some(ADMIN),
            &json!({ "actor_id": "keyholder" }),
        )
        .await;
    assert_eq!(created.status(), 201);
    let created = json_body(created).await;
    let key = created["key"].as_str().unwrap().to_owned();
    let get_balance = |key: Option<String>| {
        let mut request = app.as_actor(Method::GET, "/api/balance", "impostor");
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request.send()
    };

    let ok = json_body(get_balance(Some(key.clone())).await.unwrap()).await;
    let missing = get_balance(None).await.unwrap();
    let unknown = get_balance(Some(format!("{}x", &key[..key.len() - 1])))
        .await
        .unwrap();

    assert_eq!(ok["actor_id"], "keyholder", "X-Actor-ID is ignored");
    assert!(
        missing.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    assert_problem(missing, 401, "unauthorized").await;
    assert_problem(unknown, 401, "unauthorized").await;

    let revoked = app
        .admin_delete(
            &format!(
                "/api/admin/api-keys/{}",
                created["key_id"].as_str().unwrap()
            ),
            ADMIN,
        )
        .await;
    assert_eq!(revoked.status(), 204);
    let after = get_balance(Some(key)).await.unwrap();
    let problem = assert_problem(after, 401, "unauthorized").await;
    assert!(problem["detail"].as_str().unwrap().contains("revoked"));
    let again = app
        .admin_delete("/api/admin/api-keys/ffffffffffffffff", ADMIN)
        .await;
    assert_problem(again, 404, "not_found").await;
}

#[tokio::test]
async fn api_keys_are_stored_only_as_hashes() {
    let app = spawn_app_with(config()).await;
    let created = json_body(
        app.admin_post(
            "/api/admin/api-keys",
            Some(ADMIN),
            &json!({ "actor_id": "hashed", "label": "laptop" }),
        )
        .await,
    )
    .await;
    let key = created["key"].as_str().unwrap();
    let mut redis = app.redis_conn().await;

    let record: std::collections::HashMap<String, String> = redis::cmd("HGETALL")
        .arg(format!(
            "{}:{{k:{}}}:key",
            app.config.vars["REDIS_KEY_PREFIX"],
            created["key_id"].as_str().unwrap()
        ))
        .query_async(&mut redis)
        .await
        .unwrap();

    assert_eq!(record["actor_id"], "hashed");
    assert!(
        record
            .values()
            .all(|v| !v.contains(key) && !key.ends_with(v.as_str()))
    );
    assert_eq!(record["key_hash"].len(), 64);
}

/// A ledger entry id (`<ms>-<seq>`, a stream id) as numbers, which order it.
fn entry_id(entry: &Value) -> (u64, u64) {
    let id = entry["id"].as_str().unwrap();
    let (ms, seq) = id
        .split_once('-')
        .unwrap_or_else(|| panic!("entry id {id}"));
    (ms.parse().unwrap(), seq.parse().unwrap())
}

#[tokio::test]
async fn the_ledger_is_paginated_newest_first() {
    let app = spawn_app_with(config().set("RATE_LIMIT_BURST", "100")).await;
    for i in 0..3 {
        let response = app
            .simulate(
                "pager",
                &json!({ "event_id": "demo_001", "seed": 100 + i, "iterations": 100 }),
            )
            .await;
        assert_eq!(response.status(), 200);
    }

    let first = json_body(app.ledger("pager", 2, None).await).await;
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let second = json_body(app.ledger("pager", 2, Some(cursor)).await).await;
    let whole = json_body(app.ledger("pager", 100, None).await).await;

    assert_eq!(first["entries"].as_array().unwrap().len(), 2);
    assert_eq!(first["entries"][0]["balance_after"], 2, "newest first");
    assert_eq!(second["entries"].as_array().unwrap().len(), 2);
    assert_eq!(second["entries"][1]["kind"], "daily_grant");
    assert!(second.get("next_cursor").is_none());
    // Across the pages: every entry once, newest first (ids strictly decreasing).
    let walked: Vec<(u64, u64)> = [&first, &second]
        .iter()
        .flat_map(|page| page["entries"].as_array().unwrap())
        .map(entry_id)
        .collect();
    let all: Vec<(u64, u64)> = whole["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(entry_id)
        .collect();
    assert!(
        walked.windows(2).all(|pair| pair[0] > pair[1]),
        "strictly decreasing ids, so no duplicates: {walked:?}"
    );
    assert_eq!(walked, all, "the pages hold every entry");
    assert_eq!(all.len(), 4, "three spends and the daily allowance");
    let before_everything =
        json_body(app.ledger("pager", 2, Some(&hex::encode("000-0"))).await).await;
    assert_eq!(before_everything["entries"].as_array().unwrap().len(), 0);
    let bad = app.ledger("pager", 2, Some("not-a-cursor")).await;
    assert_problem(bad, 400, "invalid_request").await;
    let too_many = app.ledger("pager", 101, None).await;
    assert_problem(too_many, 400, "invalid_request").await;
}
