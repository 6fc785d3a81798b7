//! `REDIS_MIN_REPLICA_ACKS`: an account change is answered only once replicas confirm it; a
//! replica that does not confirm in time turns the change into a 503 (the retry with the same
//! key is safe), and holds up nothing else: the waits run on connections of their own.

use std::time::{Duration, Instant};

use futures_util::join;
use serde_json::{Value, json};
use trickster_oracle::{
    config::Settings,
    store::{
        Keys, Slot, Store, StoreError,
        admission::{Admission, RateLimit},
        idempotency::{IdempotencyClaim, IdempotencyMode, Operation},
    },
};

use crate::helpers::{Sentinels, TestApp, TestConfig, assert_problem, json_body, spawn_app_with};

const ADMIN: &str = "replica-acks-admin-token";

fn acks_config(sentinels: &Sentinels) -> TestConfig {
    sentinels
        .primary_config()
        .set("REDIS_MIN_REPLICA_ACKS", "1")
        .set("REDIS_TIMEOUT_MS", "600")
        .set("ADMIN_TOKEN", ADMIN)
}

/// The ledger of `actor` as the replica has it: (kind, amount, request id) per entry.
async fn replica_ledger(sentinels: &Sentinels, app: &TestApp, actor: &str) -> Vec<[String; 3]> {
    let keys = Keys::new(app.config.vars["REDIS_KEY_PREFIX"].clone());
    let mut conn = redis::Client::open(sentinels.server_url(1))
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(keys.ledger(actor))
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .unwrap();
    entries
        .into_iter()
        .map(|(_, fields)| {
            let field = |name: &str| {
                fields
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            [field("kind"), field("amount"), field("request_id")]
        })
        .collect()
}

fn unseeded() -> Value {
    json!({ "event_id": "demo_001", "iterations": 1000 })
}

#[tokio::test]
async fn a_charge_or_a_grant_is_answered_once_the_replica_has_it() {
    let sentinels = Sentinels::start(1, None).await;
    let app = spawn_app_with(acks_config(&sentinels)).await;

    let charged = app.simulate_with_key("ria", "acked-1", &unseeded()).await;
    assert_eq!(charged.status(), 200);
    let request_id = json_body(charged).await["meta"]["request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let granted = app
        .grant(
            ADMIN,
            Some("acked-grant"),
            &json!({ "actor_id": "ria", "amount": 3 }),
        )
        .await;
    assert_eq!(granted.status(), 201);

    // Read from the replica right after the answers: no waiting, no retry.
    let ledger = replica_ledger(&sentinels, &app, "ria").await;
    assert!(
        ledger.contains(&["spend".into(), "-1".into(), request_id.clone()]),
        "the charge of {request_id} is on the replica: {ledger:?}"
    );
    assert!(
        ledger
            .iter()
            .any(|[kind, amount, _]| kind == "grant" && amount == "3"),
        "the grant is on the replica: {ledger:?}"
    );
}

#[tokio::test]
async fn a_replica_that_does_not_confirm_turns_a_charge_into_a_503_and_holds_up_nothing_else() {
    let sentinels = Sentinels::start(1, None).await;
    let app = spawn_app_with(acks_config(&sentinels)).await;
    assert_eq!(
        app.balance_amount("ria").await,
        5,
        "today's allowance, confirmed"
    );
    let seeded = json!({ "event_id": "demo_002", "iterations": 1000, "seed": 7 });
    assert_eq!(
        app.simulate_with_key("ria", "computed", &seeded)
            .await
            .status(),
        200
    );
    sentinels.pause(1).await;

    let started = Instant::now();
    let charge = async {
        let response = app
            .simulate_with_key("ria", "unconfirmed", &unseeded())
            .await;
        (response, started.elapsed())
    };
    let others = async {
        // While the charge waits for the frozen replica, other requests of the same
        // instance are answered at once.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let at = Instant::now();
        let events = app.events("ria").await.status().as_u16();
        let balance = app.balance("ria").await.status().as_u16();
        let ready = app.get("/ready").await.status().as_u16();
        // A cache hit with a key of its own: its answer is stored, but charges nothing.
        let hit = app
            .simulate_with_key("ria", "hit", &seeded)
            .await
            .status()
            .as_u16();
        (events, balance, ready, hit, at.elapsed())
    };
    let ((response, charge_took), (events, balance, ready, hit, others_took)) =
        join!(charge, others);

    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    assert!(
        charge_took < Duration::from_secs(2),
        "bounded by the request's Redis deadline: {charge_took:?}"
    );
    assert_problem(response, 503, "service_unavailable").await;
    assert_eq!((events, balance, ready, hit), (200, 200, 200, 200));
    assert!(
        others_took < Duration::from_millis(300),
        "nothing queued behind the wait: {others_took:?}"
    );

    sentinels.resume(1).await;
    let mut retried = None;
    for _ in 0..50 {
        let response = app
            .simulate_with_key("ria", "unconfirmed", &unseeded())
            .await;
        if response.status() == 200 {
            retried = Some(response);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(retried.is_some(), "the retry with the same key succeeds");
    assert_eq!(
        app.balance_amount("ria").await,
        3,
        "charged once for each key"
    );
}

#[tokio::test]
async fn a_replayed_answer_is_sent_only_once_the_replicas_have_it() {
    let sentinels = Sentinels::start(1, None).await;
    let config = acks_config(&sentinels).set("REDIS_TIMEOUT_MS", "300");
    let store = Store::new(&Settings::from_map(&config.vars).unwrap()).unwrap();
    let slot = Slot::Actor("rex".into());
    let limit = Some(RateLimit {
        capacity: 100,
        per_minute: 100,
    });
    let claim = || {
        let mode = IdempotencyMode::Store {
            status: 200,
            body: "{\"charged\":1}".into(),
        };
        IdempotencyClaim::new(Operation::Simulate, "replayed", "{}", 60, mode)
    };
    let (stored, _) = store.admit(&slot, limit, Some(&claim())).await.unwrap();
    assert_eq!(stored, Admission::Admitted);
    sentinels.pause(1).await;

    let t = Instant::now();
    let unconfirmed = store.admit(&slot, limit, Some(&claim())).await;
    eprintln!(
        "DEBUG unconfirmed {:?} after {:?}",
        unconfirmed.as_ref().err(),
        t.elapsed()
    );
    sentinels.resume(1).await;
    let t = Instant::now();
    let confirmed = store.admit(&slot, limit, Some(&claim())).await;
    eprintln!(
        "DEBUG confirmed {:?} after {:?}",
        confirmed.as_ref().err(),
        t.elapsed()
    );
    let t = Instant::now();
    let again = store.admit(&slot, limit, Some(&claim())).await;
    eprintln!(
        "DEBUG again {:?} after {:?}",
        again.as_ref().err(),
        t.elapsed()
    );

    assert!(
        matches!(
            unconfirmed,
            Err(StoreError::Unconfirmed {
                wanted: 1,
                acknowledged: 0
            })
        ),
        "{unconfirmed:?}"
    );
    assert!(
        matches!(confirmed, Ok((Admission::Replay { status: 200, .. }, _))),
        "{confirmed:?}"
    );
}
