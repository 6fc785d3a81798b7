//! Exactly once when a reply is lost: a script that ran but whose answer never arrived, a
//! Redis that pauses, a client that goes away mid-request, a Redis that is merely slow.
//! After each: the ledger adds up, no token is lost or taken twice, and the retry with the
//! same idempotency key runs (or replays), instead of meeting a key locked for its lease.

use std::time::Duration;

use serde_json::json;
use trickster_oracle::{
    config::Settings,
    domain::{catalogue, digest::sha256_hex, fingerprint::fingerprint},
    store::{
        Slot, Store,
        idempotency::Operation,
        ledger::{Account, Page},
        scripts,
    },
};

use crate::{
    helpers::{
        OwnedRedis, TestConfig, assert_problem, json_body, shared_redis_url, spawn_app_with,
    },
    single_node::proxy::RedisProxy,
};

/// What the tests look at, through their own connection to the real Redis.
struct Inspector {
    store: Store,
    redis: redis::aio::MultiplexedConnection,
}

impl Inspector {
    /// `config` with its `REDIS_URL` replaced by the real Redis at `redis_url`.
    async fn new(config: &TestConfig, redis_url: &str) -> Self {
        let direct = config.clone().set("REDIS_URL", redis_url);
        let store = Store::new(&Settings::from_map(&direct.vars).unwrap()).unwrap();
        let redis = redis::Client::open(redis_url)
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        Self { store, redis }
    }

    async fn account(&self, actor: &str) -> Account {
        let page = Page {
            limit: 100,
            cursor: None,
        };
        self.store.account(actor, Some(page)).await.unwrap()
    }

    /// The state of `actor`'s idempotency record for `key` ("running", "done" or absent).
    async fn record_state(&mut self, actor: &str, key: &str) -> Option<String> {
        let name = self.store.keys().idempotency(
            &Slot::Actor(actor.into()),
            Operation::Simulate.scope(),
            &sha256_hex(key),
        );
        redis::cmd("HGET")
            .arg(name)
            .arg("state")
            .query_async(&mut self.redis)
            .await
            .unwrap()
    }

    /// Waits (bounded) until `actor`'s record for `key` is in `state`.
    async fn until_record(&mut self, actor: &str, key: &str, state: Option<&str>) {
        for _ in 0..200 {
            if self.record_state(actor, key).await.as_deref() == state {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the record of {key} never reached {state:?}");
    }
}

fn assert_adds_up(account: &Account) {
    let sum: i64 = account.entries.iter().map(|e| e.amount).sum();
    assert_eq!(sum, account.balance, "{:?}", account.entries);
    assert_eq!(account.open_holds, 0, "nothing is left held");
}

fn upstream(url: &str) -> String {
    url.trim_start_matches("redis://").to_owned()
}

#[tokio::test]
async fn a_hold_whose_reply_is_lost_is_refunded_and_the_retry_runs() {
    let proxy = RedisProxy::start(&upstream(&shared_redis_url())).await;
    let config = TestConfig::new(&proxy.url);
    let app = spawn_app_with(config.clone()).await;
    let mut redis = Inspector::new(&config, &shared_redis_url()).await;
    let body = json!({ "event_id": "demo_001", "iterations": 1000, "seed": 71 });
    proxy.lose_next_reply_to(scripts::LEDGER_HOLD.sha());

    let lost = app.simulate_with_key("lea", "k-lost", &body).await;

    assert_problem(lost, 503, "service_unavailable").await;
    assert_eq!(proxy.replies_lost(), 1, "the hold ran, its reply was lost");
    redis.until_record("lea", "k-lost", None).await;
    let after_loss = redis.account("lea").await;
    assert_eq!(after_loss.balance, 5, "the hold that ran was refunded");
    assert_adds_up(&after_loss);

    let retry = app.simulate_with_key("lea", "k-lost", &body).await;

    assert_eq!(retry.status(), 200, "the retry runs");
    assert_eq!(json_body(retry).await["meta"]["cost_tokens"], 1);
    let settled = redis.account("lea").await;
    assert_eq!(settled.balance, 4, "charged exactly once");
    assert_adds_up(&settled);
}

#[tokio::test]
async fn an_admission_that_runs_after_its_caller_gave_up_does_not_lock_the_key() {
    let owned = OwnedRedis::start().await;
    let config = TestConfig::new(&owned.url).set("REDIS_TIMEOUT_MS", "200");
    let app = spawn_app_with(config.clone()).await;
    let mut redis = Inspector::new(&config, &owned.url).await;
    let body = json!({ "event_id": "demo_002", "iterations": 1000, "seed": 72 });
    // Writes (every script) wait until the pause ends; the request stops waiting first.
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(700)
        .arg("WRITE")
        .query_async(&mut redis.redis)
        .await
        .unwrap();

    let timed_out = app.simulate_with_key("max", "k-paused", &body).await;

    assert_problem(timed_out, 503, "service_unavailable").await;
    // The admission runs when the pause ends (its token leaves the bucket) and claims the
    // key; the request's cleanup then drops that claim.
    let bucket = redis.store.keys().rate_bucket(&Slot::Actor("max".into()));
    for _ in 0..200 {
        let exists: bool = redis::cmd("EXISTS")
            .arg(&bucket)
            .query_async(&mut redis.redis)
            .await
            .unwrap();
        if exists {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    redis.until_record("max", "k-paused", None).await;
    let retry = app.simulate_with_key("max", "k-paused", &body).await;
    assert_eq!(
        retry.status(),
        200,
        "the retry runs instead of meeting a 409"
    );
    let account = redis.account("max").await;
    assert_eq!(account.balance, 4);
    assert_adds_up(&account);
}

#[tokio::test]
async fn a_request_whose_client_went_away_still_settles() {
    let config = TestConfig::new(&shared_redis_url());
    let app = spawn_app_with(config.clone()).await;
    let mut redis = Inspector::new(&config, &shared_redis_url()).await;
    let body = json!({ "event_id": "demo_003", "iterations": 1000, "seed": 73 });
    // Another instance seems to be computing this result: the request waits for it.
    let matchup = catalogue::find("demo_003").unwrap().matchup();
    let lock = redis
        .store
        .keys()
        .cache_lock(&fingerprint(&matchup, 1000, 73));
    let _: () = redis::cmd("SET")
        .arg(lock)
        .arg("someone-else")
        .arg("PX")
        .arg(1_500)
        .query_async(&mut redis.redis)
        .await
        .unwrap();

    let gone = app
        .client
        .post(app.url("/api/simulate"))
        .header("X-Actor-ID", "ned")
        .header("Idempotency-Key", "k-gone")
        .timeout(Duration::from_millis(300))
        .json(&body)
        .send()
        .await;

    assert!(gone.is_err(), "the client gave up while the request waited");
    // The lock's lease runs out, the request computes and settles all the same.
    redis.until_record("ned", "k-gone", Some("done")).await;
    let retry = app.simulate_with_key("ned", "k-gone", &body).await;
    assert_eq!(retry.status(), 200);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    let account = redis.account("ned").await;
    assert_eq!(account.balance, 4, "one computation, one charge");
    assert_adds_up(&account);
}

#[tokio::test]
async fn a_slow_redis_fails_a_request_within_one_timeout_not_one_per_call() {
    let proxy = RedisProxy::start(&upstream(&shared_redis_url())).await;
    let config = TestConfig::new(&proxy.url).set("REDIS_TIMEOUT_MS", "300");
    let app = spawn_app_with(config.clone()).await;
    let redis = Inspector::new(&config, &shared_redis_url()).await;
    let cached = json!({ "event_id": "demo_004", "iterations": 1000, "seed": 74 });
    let fresh = json!({ "event_id": "demo_004", "iterations": 1000, "seed": 75 });
    assert_eq!(
        app.simulate_with_key("ola", "k-first", &cached)
            .await
            .status(),
        200
    );
    // Every reply now takes 120 ms: any one call is well within 300 ms; the six calls of a
    // computed simulation together are not.
    proxy.slow_down(Duration::from_millis(120));

    let hit = app.simulate_with_key("ola", "k-hit", &cached).await;
    let miss = app.simulate_with_key("ola", "k-miss", &fresh).await;

    assert_eq!(hit.status(), 200, "a cache hit needs two calls");
    assert_problem(miss, 503, "service_unavailable").await;
    proxy.slow_down(Duration::ZERO);
    for _ in 0..100 {
        let account = redis.account("ola").await;
        if account.open_holds == 0 {
            assert_eq!(account.balance, 4, "only the first computation is charged");
            assert_adds_up(&account);
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the failed request's hold was never settled");
}
