//! The Redis layer on its own: scripts, reloads after SCRIPT FLUSH, single flight.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use trickster_oracle::{
    config::Settings,
    store::{
        Store, StoreError,
        cache::{CachePolicy, Fetched},
    },
};

use crate::helpers::{TestConfig, redis_connection, shared_redis_url};

fn store(config: &TestConfig) -> Store {
    Store::new(&Settings::from_map(&config.vars).unwrap()).unwrap()
}

const POLICY: CachePolicy = CachePolicy {
    ttl_seconds: 60,
    max_wait: Duration::from_secs(5),
};

async fn compute_ok(value: &str) -> Result<(String, ()), StoreError> {
    Ok((value.to_owned(), ()))
}

/// A computation that fails.
async fn compute_fails() -> Result<(String, ()), StoreError> {
    Err(StoreError::protocol("test", "engine failed"))
}

#[tokio::test]
async fn a_miss_computes_and_stores_then_a_lookup_hits() {
    let store = store(&TestConfig::new(&shared_redis_url()));

    let first = store
        .cache_fetch_or_compute("fp1", POLICY, || compute_ok("{\"n\":1}"))
        .await
        .unwrap();
    let second = store
        .cache_fetch_or_compute("fp1", POLICY, || compute_ok("never"))
        .await
        .unwrap();

    assert_eq!(first, Fetched::Computed("{\"n\":1}".into(), ()));
    assert_eq!(second, Fetched::Hit("{\"n\":1}".into()));
}

#[tokio::test]
async fn scripts_survive_script_flush() {
    let config = TestConfig::new(&shared_redis_url());
    let store = store(&config);
    store
        .cache_fetch_or_compute("warm", POLICY, || compute_ok("1"))
        .await
        .unwrap();
    let mut conn = redis_connection(&config).await;
    let _: () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut conn)
        .await
        .unwrap();

    let fetched = store
        .cache_fetch_or_compute("after-flush", POLICY, || compute_ok("2"))
        .await
        .expect("EVALSHA is retried after NOSCRIPT");

    assert_eq!(fetched, Fetched::Computed("2".into(), ()));
    let _: () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut conn)
        .await
        .unwrap();
    let failed = store
        .cache_fetch_or_compute("fails-after-flush", POLICY, compute_fails)
        .await;
    let lock: Option<String> = redis::cmd("GET")
        .arg(store.keys().cache_lock("fails-after-flush"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(failed.is_err());
    assert_eq!(lock, None, "cache_release ran after the flush");
}

#[tokio::test]
async fn a_failed_computation_releases_the_lock_and_stores_nothing() {
    let config = TestConfig::new(&shared_redis_url());
    let store = store(&config);
    let mut conn = redis_connection(&config).await;

    let failed = store
        .cache_fetch_or_compute("fails", POLICY, compute_fails)
        .await;
    let (lock, result): (Option<String>, Option<String>) = redis::pipe()
        .get(store.keys().cache_lock("fails"))
        .get(store.keys().cache_result("fails"))
        .query_async(&mut conn)
        .await
        .unwrap();
    let retried = store
        .cache_fetch_or_compute("fails", POLICY, || compute_ok("ok"))
        .await
        .unwrap();

    assert!(failed.is_err());
    assert_eq!(
        lock, None,
        "the lock is released at once, not left to its lease"
    );
    assert_eq!(result, None, "nothing is stored");
    assert_eq!(retried, Fetched::Computed("ok".into(), ()));
}

#[tokio::test]
async fn concurrent_misses_on_two_stores_compute_once() {
    let config = TestConfig::new(&shared_redis_url());
    let stores = [store(&config), store(&config)];
    let runs = Arc::new(AtomicUsize::new(0));

    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = stores[i % 2].clone();
            let runs = runs.clone();
            tokio::spawn(async move {
                store
                    .cache_fetch_or_compute("shared", POLICY, || async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        Ok::<_, StoreError>(("result".to_owned(), ()))
                    })
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }

    assert_eq!(runs.load(Ordering::SeqCst), 1);
    let computed = outcomes
        .iter()
        .filter(|o| matches!(o, Fetched::Computed(..)))
        .count();
    assert_eq!(computed, 1);
    assert!(outcomes.iter().all(|o| o.json() == "result"));
}

#[tokio::test]
async fn a_redis_that_never_answers_fails_by_the_timeout() {
    // A socket that accepts connections (into its backlog) and never says a word.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://{}", silent.local_addr().unwrap());
    let store = store(&TestConfig::new(&url).set("REDIS_TIMEOUT_MS", "200"));

    let err = store.ping().await.expect_err("no answer is an error");

    let timed_out = match &err {
        StoreError::Timeout(_) => true,
        StoreError::Redis(e) => e.is_timeout(),
        StoreError::Protocol { .. } | StoreError::Unconfirmed { .. } => false,
    };
    assert!(timed_out, "ended by a timeout, not a hang: {err}");
}

#[tokio::test]
async fn a_refused_connection_is_an_error() {
    let store = store(&TestConfig::new("redis://127.0.0.1:1").set("REDIS_TIMEOUT_MS", "200"));

    assert!(store.ping().await.is_err());
}
