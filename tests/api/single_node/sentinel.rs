//! Sentinel mode: the instance asks the Sentinels for the primary, says which node it uses,
//! and follows the primary they name after a failover, without a restart.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{Sentinels, TestApp, TestConfig, json_body, spawn_app_with};

const ADMIN: &str = "sentinel-admin-token-0123";

/// `/ready` as the administrator: the status and the Redis check.
async fn ready(app: &TestApp) -> (u16, Value) {
    let response = app
        .client
        .get(app.url("/ready"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("request sent");
    let status = response.status().as_u16();
    (status, json_body(response).await["checks"]["redis"].clone())
}

/// Waits until the replica has every write the primary has (`WAIT 1` after a write of its
/// own).
async fn sync_replica(sentinels: &Sentinels) {
    let mut conn = redis::Client::open(sentinels.primary_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: i64 = redis::cmd("INCR")
        .arg("sync-marker")
        .query_async(&mut conn)
        .await
        .unwrap();
    let acked: i64 = redis::cmd("WAIT")
        .arg(1)
        .arg(5_000)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(acked, 1, "the replica acknowledged");
}

#[tokio::test]
async fn an_instance_follows_the_primary_the_sentinels_name_after_a_failover() {
    let sentinels = Sentinels::start(1, Some("sentinel-pw")).await;
    let old_port = sentinels.primary_port();
    let app = spawn_app_with(sentinels.config().set("ADMIN_TOKEN", ADMIN)).await;
    let grant = json!({ "actor_id": "sam", "amount": 7 });
    assert_eq!(app.grant(ADMIN, Some("g-1"), &grant).await.status(), 201);
    let (status, check) = ready(&app).await;
    assert_eq!(status, 200);
    assert_eq!(check["mode"], "sentinel");
    assert_eq!(check["node"], format!("127.0.0.1:{old_port}"));
    // The grant reached the replica before the primary dies.
    sync_replica(&sentinels).await;

    let killed_at = Instant::now();
    sentinels.kill_primary().await;
    let new_port = sentinels.wait_for_failover(old_port).await;
    let mut answered = None;
    while killed_at.elapsed() < Duration::from_secs(30) {
        if let (200, check) = ready(&app).await {
            answered = Some(check);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let check = answered.expect("ready again within 30 s of the kill, without a restart");
    assert_eq!(check["node"], format!("127.0.0.1:{new_port}"));
    assert_eq!(
        app.balance_amount("sam").await,
        5 + 7,
        "allowance and grant"
    );
    let anonymous = json_body(app.get("/ready").await).await;
    assert_eq!(anonymous["checks"]["redis"]["mode"], "sentinel");
    assert!(
        anonymous["checks"]["redis"].get("node").is_none(),
        "the node's address is for the administrator"
    );
}

#[tokio::test]
async fn an_instance_starts_while_no_sentinel_answers_and_is_not_ready() {
    let app = spawn_app_with(
        TestConfig::new("redis://127.0.0.1:1")
            .set("REDIS_SENTINEL_URLS", "redis://127.0.0.1:1")
            .set("REDIS_SENTINEL_MASTER", "trickster")
            .set("REDIS_TIMEOUT_MS", "300"),
    )
    .await;

    let ready = app.get("/ready").await;
    let health = app.get("/health").await;

    assert_eq!(health.status(), 200);
    assert_eq!(ready.status(), 503);
    assert!(ready.headers().contains_key("retry-after"));
}
