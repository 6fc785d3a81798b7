//! Redis really stopped and started again: readiness follows it, and under load the service
//! fails closed and loses no token.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::json;
use trickster_oracle::{
    config::Settings,
    store::{Store, ledger::Page},
};

use crate::helpers::{OwnedRedis, TestApp, TestConfig, json_body, spawn_app_with};

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

    redis.restart().await;
    // The connection manager reconnects in the background; no restart of the app.
    let mut status = 0;
    for _ in 0..50 {
        status = app.get("/ready").await.status().as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "ready again after Redis returned");
}

const ACTORS: usize = 6;
const REQUESTS_PER_ACTOR: usize = 30;
const HOLD_LEASE_SECONDS: u64 = 2;

/// What one request of the load observed.
#[derive(Debug)]
struct Observation {
    status: u16,
    problem: bool,
    latency: Duration,
}

async fn observe(response: reqwest::Result<reqwest::Response>, started: Instant) -> Observation {
    let response = response.expect("every request is answered (no hang, no dropped connection)");
    let status = response.status().as_u16();
    let problem = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/problem+json"));
    let _ = response.bytes().await;
    Observation {
        status,
        problem,
        latency: started.elapsed(),
    }
}

async fn actor_load(apps: &[TestApp; 2], actor_index: usize) -> Vec<Observation> {
    let mut seen = Vec::new();
    for i in 0..REQUESTS_PER_ACTOR {
        let app = &apps[i % 2];
        let started = Instant::now();
        let actor = format!("fault-{actor_index}");
        let response = if i % 3 == 2 {
            app.as_actor(Method::GET, "/api/balance", &actor)
                .send()
                .await
        } else {
            app.as_actor(Method::POST, "/api/simulate", &actor)
                .json(&json!({ "event_id": "demo_002", "seed": actor_index * 1000 + i, "iterations": 20000 }))
                .send()
                .await
        };
        seen.push(observe(response, started).await);
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    seen
}

#[tokio::test]
async fn losing_redis_under_load_fails_closed_and_loses_no_token() {
    let redis = OwnedRedis::start_persistent().await;
    let config = TestConfig::new(&redis.url)
        .set("REDIS_TIMEOUT_MS", "300")
        .set("HOLD_LEASE_SECONDS", &HOLD_LEASE_SECONDS.to_string())
        .set("REQUEST_TIMEOUT_MS", "1000")
        .set("CACHE_WAIT_MS", "500")
        .set("RATE_LIMIT_BURST", "1000")
        .set("DAILY_TOKENS", "12");
    let first = spawn_app_with(config.clone()).await;
    let apps = [first.sibling().await, first];

    // Act: load from several actors; Redis goes away in the middle and comes back.
    let load = join_all((0..ACTORS).map(|actor| actor_load(&apps, actor)));
    let outage = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        redis.stop().await;
        tokio::time::sleep(Duration::from_millis(800)).await;
        redis.restart().await;
        // Redis answers again: count one instance's requests until it answers too. The
        // request that meets the dead connection fails and triggers the reconnect.
        let back = Instant::now();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let status = apps[0]
                .as_actor(Method::GET, "/api/events", "prober")
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0);
            if status == 200 || attempts == 200 {
                return (attempts, back.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let (observations, (attempts_to_recover, recovery)) = tokio::join!(load, outage);
    let observations: Vec<Observation> = observations.into_iter().flatten().collect();

    // Assert: only the contract's statuses, every error a problem, recovery without restart.
    let count = |status: u16| observations.iter().filter(|o| o.status == status).count();
    let slowest = observations.iter().map(|o| o.latency).max().unwrap();
    eprintln!(
        "fault test: {} requests: {} × 200, {} × 402, {} × 429, {} × 503; slowest {:?}; \
         service answered 200 again after {} request(s), {:?} after Redis was back",
        observations.len(),
        count(200),
        count(402),
        count(429),
        count(503),
        slowest,
        attempts_to_recover,
        recovery
    );
    for o in &observations {
        assert!([200, 402, 429, 503].contains(&o.status), "unexpected {o:?}");
        assert!(
            o.status == 200 || o.problem,
            "non-200 without problem+json: {o:?}"
        );
    }
    assert!(count(503) > 0, "the outage was observed");
    assert!(count(200) > 0);
    assert!(
        attempts_to_recover <= 2,
        "recovered by itself: {attempts_to_recover} attempts"
    );

    // After the lease, every hold left by a request cut off mid-way is released and every
    // actor's ledger adds up to its balance.
    tokio::time::sleep(Duration::from_secs(HOLD_LEASE_SECONDS) + Duration::from_millis(200)).await;
    let store = Store::new(&Settings::from_map(&config.vars).unwrap()).unwrap();
    for actor in 0..ACTORS {
        let actor = format!("fault-{actor}");
        let page = Page {
            limit: 100,
            cursor: None,
        };
        let account = store.account(&actor, Some(page)).await.unwrap();
        let ledger = json_body(apps[0].ledger(&actor, 100, None).await).await;
        let sum: i64 = ledger["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["amount"].as_i64().unwrap())
            .sum();
        assert_eq!(account.open_holds, 0, "{actor}: no hold outlives its lease");
        assert!(!account.has_more, "{actor}: the whole ledger fits the page");
        assert_eq!(sum, account.balance, "{actor}: entries sum to the balance");
        assert!(account.balance >= 0);
    }
}
