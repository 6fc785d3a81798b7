//! `GET /api/events` and `POST /api/simulate`: shape, validation, cache, single flight.

use std::time::Instant;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{assert_problem, header, json_body, spawn_app};

fn cache_status(response: &reqwest::Response) -> String {
    header(response, "cache-status")
}

/// The numbers of a result, without the per-request parts (`event`, `meta`).
fn numbers(body: &Value) -> Value {
    let mut copy = body.clone();
    let object = copy.as_object_mut().unwrap();
    object.remove("event");
    object.remove("meta");
    copy
}

#[tokio::test]
async fn the_catalogue_lists_the_demo_matches() {
    let app = spawn_app().await;

    let body = json_body(app.get("/api/events").await).await;

    let events = body["events"].as_array().unwrap();
    assert!(events.len() >= 8);
    let barca = events.iter().find(|e| e["event_id"] == "demo_001").unwrap();
    assert_eq!(barca["home_team"], "Barcelona");
    assert_eq!(barca["away_rating"], 2050.0);
}

#[tokio::test]
async fn a_simulation_returns_the_full_analysis() {
    let app = spawn_app().await;

    let response = app
        .simulate(
            "alice",
            &json!({ "event_id": "demo_001", "iterations": 20000, "seed": 7 }),
        )
        .await;

    assert_eq!(response.status(), 200);
    assert_eq!(
        cache_status(&response),
        "trickster-oracle; fwd=miss; stored"
    );
    let body = json_body(response).await;
    assert_eq!(body["event"]["event_id"], "demo_001");
    assert_eq!(body["event"]["home_advantage"], 100.0);
    assert_eq!(
        (body["iterations"].as_u64(), body["seed"].as_u64()),
        (Some(20000), Some(7))
    );
    let p = &body["probabilities"];
    let sum =
        p["home"].as_f64().unwrap() + p["draw"].as_f64().unwrap() + p["away"].as_f64().unwrap();
    assert!((sum - 1.0).abs() < 1e-9, "{sum}");
    for outcome in ["home", "draw", "away"] {
        let interval = &body["intervals_95"][outcome];
        let estimate = p[outcome].as_f64().unwrap();
        assert!(interval["lower"].as_f64().unwrap() <= estimate);
        assert!(estimate <= interval["upper"].as_f64().unwrap());
    }
    let counts: u64 = body["expected_score"]["histogram"]["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .sum();
    assert_eq!(counts, 20000);
    assert_eq!(body["scenarios"].as_array().unwrap().len(), 3);
    assert!(["low", "medium", "high"].contains(&body["risk"]["band"].as_str().unwrap()));
    assert!(
        body["explanation"]["summary"]
            .as_str()
            .unwrap()
            .contains("Barcelona")
    );
    let meta = &body["meta"];
    assert_eq!(meta["fingerprint"].as_str().unwrap().len(), 64);
    assert_eq!(meta["cache_hit"], false);
    assert_eq!(meta["idempotency_replay"], false);
    assert_eq!(meta["cost_tokens"], 1);
    assert!(meta["request_id"].is_string());
}

#[tokio::test]
async fn a_repeated_seeded_request_is_a_free_cache_hit_with_a_fresh_request_id() {
    let app = spawn_app().await;
    let request = json!({ "event_id": "demo_002", "seed": 11 });
    let first = json_body(app.simulate("alice", &request).await).await;

    let second = app.simulate("bob", &request).await;

    assert_eq!(cache_status(&second), "trickster-oracle; hit");
    let second = json_body(second).await;
    assert_eq!(second["meta"]["cache_hit"], true);
    assert_eq!(second["meta"]["cost_tokens"], 0);
    assert_eq!(second["meta"]["engine_ms"], 0.0);
    assert_ne!(second["meta"]["request_id"], first["meta"]["request_id"]);
    assert_eq!(numbers(&second), numbers(&first));
}

#[tokio::test]
async fn an_inline_event_equal_to_a_catalogue_match_shares_its_cache_entry() {
    let app = spawn_app().await;
    let first = json_body(
        app.simulate(
            "alice",
            &json!({ "event_id": "demo_001", "seed": 5, "iterations": 1000 }),
        )
        .await,
    )
    .await;
    // Different key order, whitespace and 2100.0 instead of 2100.
    let inline = r#"{ "iterations": 1000, "seed": 5,
        "event": { "away_rating": 2050, "home_rating": 2100.0, "away_team": "Real Madrid",
                   "home_team": "Barcelona", "sport": "football", "home_advantage": 100 } }"#;

    let response = app
        .as_actor(Method::POST, "/api/simulate", "alice")
        .header("content-type", "application/json")
        .body(inline)
        .send()
        .await
        .unwrap();

    let second = json_body(response).await;
    assert_eq!(second["meta"]["fingerprint"], first["meta"]["fingerprint"]);
    assert_eq!(second["meta"]["cache_hit"], true);
    assert!(
        second["event"].get("event_id").is_none(),
        "this request's event"
    );
    assert_eq!(numbers(&second), numbers(&first));
}

#[tokio::test]
async fn unseeded_requests_get_new_seeds_and_never_hit_but_their_seed_does() {
    let app = spawn_app().await;
    let request = json!({ "event_id": "demo_003", "iterations": 500 });

    let a = json_body(app.simulate("alice", &request).await).await;
    let b = json_body(app.simulate("alice", &request).await).await;

    assert_eq!(
        (
            a["meta"]["cache_hit"].as_bool(),
            b["meta"]["cache_hit"].as_bool()
        ),
        (Some(false), Some(false))
    );
    assert_ne!(a["seed"], b["seed"]);
    let again = json_body(
        app.simulate(
            "alice",
            &json!({ "event_id": "demo_003", "iterations": 500, "seed": a["seed"] }),
        )
        .await,
    )
    .await;
    assert_eq!(again["meta"]["cache_hit"], true);
    assert_eq!(numbers(&again), numbers(&a));
}

#[tokio::test]
async fn the_same_seed_gives_identical_numbers_on_separate_instances() {
    // Separate prefixes: both instances compute; neither reads the other's cache.
    let a = spawn_app().await;
    let b = spawn_app().await;
    let request = json!({ "event_id": "demo_004", "seed": 99, "iterations": 3000 });

    let from_a = json_body(a.simulate("alice", &request).await).await;
    let from_b = json_body(b.simulate("alice", &request).await).await;

    assert_eq!(
        (
            from_a["meta"]["cache_hit"].as_bool(),
            from_b["meta"]["cache_hit"].as_bool()
        ),
        (Some(false), Some(false))
    );
    assert_eq!(numbers(&from_a), numbers(&from_b));
}

#[tokio::test]
async fn invalid_fields_are_400_problems_naming_the_field() {
    let app = spawn_app().await;
    let event = |patch: Value| {
        let mut e =
            json!({ "home_team": "A", "away_team": "B", "home_rating": 1500, "away_rating": 1500 });
        for (k, v) in patch.as_object().unwrap() {
            e[k] = v.clone();
        }
        json!({ "event": e })
    };
    let cases = [
        (
            json!({ "event_id": "demo_001", "iterations": 99 }),
            "iterations",
        ),
        (
            json!({ "event_id": "demo_001", "iterations": 2_000_000 }),
            "iterations",
        ),
        (json!({ "event_id": "demo_001", "seed": -1 }), "seed"),
        (json!({ "iterations": 1000 }), "event"),
        (
            json!({ "event_id": "demo_001", "event": event(json!({}))["event"] }),
            "event",
        ),
        (event(json!({ "home_team": "   " })), "event.home_team"),
        (
            event(json!({ "away_team": "x".repeat(65) })),
            "event.away_team",
        ),
        (event(json!({ "home_rating": 3001 })), "event.home_rating"),
        (event(json!({ "away_rating": "high" })), "event.away_rating"),
        (
            event(json!({ "home_advantage": -5 })),
            "event.home_advantage",
        ),
        (event(json!({ "sport": "chess" })), "event.sport"),
        (
            json!({ "event_id": "demo_001", "iteratons": 5 }),
            "iteratons",
        ),
        (json!({ "event_id": "demo_001", "seed": null }), "seed"),
        (event(json!({ "home_team": "Tab\tFC" })), "event.home_team"),
    ];

    for (body, field) in cases {
        let problem =
            assert_problem(app.simulate("alice", &body).await, 400, "invalid_request").await;
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.contains(field),
            "{field} not named in {detail:?} for {body}"
        );
    }
}

#[tokio::test]
async fn an_unknown_event_id_is_a_404_problem() {
    let app = spawn_app().await;

    let response = app
        .simulate("alice", &json!({ "event_id": "demo_999" }))
        .await;

    let problem = assert_problem(response, 404, "not_found").await;
    assert!(problem["detail"].as_str().unwrap().contains("event_id"));
}

#[tokio::test]
async fn a_missing_or_malformed_actor_is_a_401_problem() {
    let app = spawn_app().await;

    let missing = app
        .post_json("/api/simulate", &json!({ "event_id": "demo_001" }))
        .await;
    assert!(missing.headers().contains_key("www-authenticate"));
    assert_problem(missing, 401, "unauthorized").await;
    let malformed = app
        .simulate("not valid!", &json!({ "event_id": "demo_001" }))
        .await;
    assert_problem(malformed, 401, "unauthorized").await;
}

#[tokio::test]
async fn team_names_are_echoed_whatever_their_words() {
    let app = spawn_app().await;

    let body = json_body(
        app.simulate(
            "alice",
            &json!({ "event": { "home_team": "Odds FC", "away_team": "Sure Thing United",
                                "home_rating": 1600, "away_rating": 1500 }, "iterations": 200 }),
        )
        .await,
    )
    .await;

    assert_eq!(body["event"]["home_team"], "Odds FC");
    assert!(
        body["explanation"]["summary"]
            .as_str()
            .unwrap()
            .contains("Odds FC")
    );
}

#[tokio::test]
async fn concurrent_identical_misses_on_two_instances_compute_once() {
    let a = spawn_app().await;
    let b = a.sibling().await;
    let request = json!({ "event_id": "demo_005", "seed": 2024, "iterations": 1_000_000 });

    let responses = futures_util::future::join_all((0..16).map(|i| {
        let app = if i % 2 == 0 { &a } else { &b };
        let request = request.clone();
        async move { json_body(app.simulate(&format!("actor{i}"), &request).await).await }
    }))
    .await;

    let computed = responses
        .iter()
        .filter(|r| r["meta"]["cache_hit"] == false)
        .count();
    assert_eq!(computed, 1, "exactly one engine run cluster-wide");
    let charged: i64 = responses
        .iter()
        .map(|r| r["meta"]["cost_tokens"].as_i64().unwrap())
        .sum();
    assert_eq!(charged, 1, "waiting requests are not charged");
    assert!(
        responses
            .iter()
            .all(|r| numbers(r) == numbers(&responses[0]))
    );
}

#[tokio::test]
async fn heavy_simulations_do_not_block_other_requests() {
    let app = spawn_app().await;
    // Eight large simulations queue on the engine slots (one per core) for a while.
    let heavy = (0..8).map(|seed| {
        let app = &app;
        async move {
            let response = app
                .simulate(
                    &format!("heavy{seed}"),
                    &json!({ "event_id": "demo_006", "seed": seed, "iterations": 1_000_000 }),
                )
                .await;
            assert_eq!(response.status(), 200);
            Instant::now()
        }
    });
    let health = async {
        // Let the simulations start first.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let response = app.get("/health").await;
        assert_eq!(response.status(), 200);
        Instant::now()
    };

    let (finished, health_at) = tokio::join!(futures_util::future::join_all(heavy), health);

    let last_simulation = finished.into_iter().max().unwrap();
    assert!(
        health_at < last_simulation,
        "/health was answered while simulations were still running"
    );
}

#[tokio::test]
async fn simulations_keep_working_after_script_flush() {
    let app = spawn_app().await;
    let request = json!({ "event_id": "demo_007", "seed": 3, "iterations": 1000 });
    app.simulate("alice", &request).await;
    let mut redis = app.redis_conn().await;
    let _: () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut redis)
        .await
        .unwrap();

    let response = app.simulate("alice", &request).await;

    assert_eq!(response.status(), 200);
    assert_eq!(json_body(response).await["meta"]["cache_hit"], true);
}
