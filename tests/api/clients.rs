//! The API as clients meet it: the document's examples work, seeds survive JavaScript,
//! browsers may read the headers, problem types lead to a page, unchanged documents are 304.

use serde_json::{Value, json};

use crate::helpers::{
    TestApp, TestConfig, assert_problem, header, json_body, shared_redis_url, spawn_app_with,
};

const ADMIN: &str = "admin-token-for-clients-0123";
const ORIGIN: &str = "https://explorer.example";

fn config() -> TestConfig {
    TestConfig::new(&shared_redis_url())
        .set("ADMIN_TOKEN", ADMIN)
        .set("DAILY_TOKENS", "1000")
        .set("RATE_LIMIT_BURST", "1000")
        .set("CORS_ORIGINS", ORIGIN)
}

/// The request examples of an operation: its named examples, or its schema's example.
fn request_examples(document: &Value, operation: &Value) -> Vec<Value> {
    let media = &operation["requestBody"]["content"]["application/json"];
    if let Some(named) = media["examples"].as_object() {
        return named.values().map(|e| e["value"].clone()).collect();
    }
    let reference = media["schema"]["$ref"].as_str().unwrap_or_default();
    let name = reference.rsplit('/').next().unwrap_or_default();
    let example = &document["components"]["schemas"][name]["example"];
    if example.is_null() {
        Vec::new()
    } else {
        vec![example.clone()]
    }
}

#[tokio::test]
async fn every_request_example_of_the_document_succeeds() {
    let app = spawn_app_with(config()).await;
    let document = json_body(app.get("/openapi.json").await).await;

    let mut sent = 0;
    for (path, operations) in document["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            for example in request_examples(&document, operation) {
                let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let request = app
                    .client
                    .request(method, app.url(path))
                    .header("X-Actor-ID", "example-reader")
                    .json(&example);
                let request = if path.starts_with("/api/admin/") {
                    request.bearer_auth(ADMIN)
                } else {
                    request
                };
                let response = request.send().await.unwrap();
                let status = response.status();
                let body = response.text().await.unwrap();
                assert!(
                    status.is_success(),
                    "{path} with {example}: {status} {body}"
                );
                sent += 1;
            }
        }
    }

    assert!(
        sent >= 4,
        "simulate (two), grant and API key examples: {sent}"
    );
}

#[tokio::test]
async fn server_picked_seeds_are_exact_in_javascript() {
    let app = spawn_app_with(config()).await;

    for _ in 0..20 {
        let response = app
            .client
            .post(app.url("/api/simulate"))
            .header("X-Actor-ID", "seeds")
            .json(&json!({ "event_id": "demo_001", "iterations": 100 }))
            .send()
            .await
            .unwrap();
        let body = json_body(response).await;
        let seed = body["seed"].as_u64().unwrap();
        assert!(seed < 1 << 53, "{seed} is not exact as a JavaScript number");
    }
    let too_large = app
        .client
        .post(app.url("/api/simulate"))
        .header("X-Actor-ID", "seeds")
        .json(&json!({ "event_id": "demo_001", "seed": 1u64 << 53 }))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(too_large, 400, "invalid_request").await;
    assert!(problem["detail"].as_str().unwrap().starts_with("seed:"));
}

#[tokio::test]
async fn a_page_of_an_allowed_origin_may_read_the_headers_and_others_are_refused() {
    let app = spawn_app_with(config()).await;

    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/simulate"))
        .header("Origin", ORIGIN)
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "content-type, x-actor-id, idempotency-key",
        )
        .send()
        .await
        .unwrap();
    let allowed = app
        .client
        .get(app.url("/api/events"))
        .header("Origin", ORIGIN)
        .send()
        .await
        .unwrap();
    let foreign = app
        .client
        .get(app.url("/api/events"))
        .header("Origin", "https://elsewhere.example")
        .send()
        .await
        .unwrap();

    assert_eq!(preflight.status(), 200);
    assert_eq!(header(&preflight, "access-control-allow-origin"), ORIGIN);
    assert!(header(&preflight, "access-control-allow-headers").contains("idempotency-key"));
    assert_eq!(allowed.status(), 200);
    assert_eq!(header(&allowed, "access-control-allow-origin"), ORIGIN);
    assert_eq!(header(&allowed, "timing-allow-origin"), ORIGIN);
    let exposed = header(&allowed, "access-control-expose-headers").to_lowercase();
    for name in [
        "ratelimit",
        "ratelimit-policy",
        "retry-after",
        "x-request-id",
        "cache-status",
        "idempotent-replayed",
        "server-timing",
    ] {
        assert!(exposed.contains(name), "{name} not exposed: {exposed}");
    }
    assert_eq!(foreign.status(), 403);
    assert!(
        foreign
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn every_problem_type_leads_to_a_page() {
    let app = spawn_app_with(config()).await;
    let document = json_body(app.get("/openapi.json").await).await;
    let codes = document["components"]["schemas"]["ProblemCode"]["enum"]
        .as_array()
        .unwrap()
        .clone();

    for code in &codes {
        let slug = code.as_str().unwrap().replace('_', "-");
        let page = app.get(&format!("/problems/{slug}")).await;
        assert_eq!(page.status(), 200, "{slug}");
        assert!(header(&page, "content-type").starts_with("text/html"));
        assert!(header(&page, "content-security-policy").contains("default-src 'none'"));
        let text = page.text().await.unwrap();
        assert!(text.contains("What to do"), "{text}");
    }
    let problem = assert_problem(app.get("/api/nothing-here").await, 404, "not_found").await;
    let page = app.get(problem["type"].as_str().unwrap()).await;
    assert_eq!(page.status(), 200, "a problem's type resolves");
    assert_problem(app.get("/problems/no-such-problem").await, 404, "not_found").await;
}

async fn revalidated(app: &TestApp, path: &str) {
    let first = app.get(path).await;
    assert_eq!(first.status(), 200, "{path}");
    let etag = header(&first, "etag").to_owned();
    assert!(etag.starts_with('"'), "{path}: {etag:?}");

    let same = app
        .client
        .get(app.url(path))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    let other = app
        .client
        .get(app.url(path))
        .header("If-None-Match", "\"something-else\"")
        .send()
        .await
        .unwrap();

    assert_eq!(same.status(), 304, "{path}");
    assert_eq!(header(&same, "etag"), etag);
    assert!(same.bytes().await.unwrap().is_empty());
    assert_eq!(other.status(), 200, "{path}");
}

#[tokio::test]
async fn the_document_and_the_catalogue_are_revalidated_with_their_etag() {
    let app = spawn_app_with(config()).await;

    revalidated(&app, "/openapi.json").await;
    revalidated(&app, "/api/events").await;
}
