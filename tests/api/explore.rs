//! The explorer page: `/` leads to it; every file it loads is served by the binary with its
//! content type, a strict Content-Security-Policy and a validator; it is open to anyone,
//! outside the rate limits and outside the API's document.

use std::collections::BTreeSet;

use reqwest::{Client, redirect::Policy};

use crate::helpers::{
    TestApp, TestConfig, assert_problem, header, json_body, shared_redis_url, spawn_app,
    spawn_app_with,
};

/// The page and every file it loads, found the way a browser finds them: the HTML's
/// `/explore/…` references, then the scripts' `./…` imports.
async fn page_files(app: &TestApp) -> BTreeSet<String> {
    let mut files = BTreeSet::from(["/explore".to_owned()]);
    let mut queue = vec!["/explore".to_owned()];
    while let Some(path) = queue.pop() {
        let text = app.get(&path).await.text().await.unwrap();
        for quoted in text.split(['"', '\'']) {
            let found = if quoted.starts_with("/explore/") {
                quoted.to_owned()
            } else if let Some(name) = quoted.strip_prefix("./") {
                format!("/explore/{name}")
            } else {
                continue;
            };
            if files.insert(found.clone()) {
                queue.push(found);
            }
        }
    }
    files
}

fn expected_content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("css") => "text/css",
        Some("js") => "text/javascript",
        Some("svg") => "image/svg+xml",
        _ => "text/html; charset=utf-8",
    }
}

#[tokio::test]
async fn the_root_redirects_to_the_explorer_with_a_302() {
    let app = spawn_app().await;
    let client = Client::builder().redirect(Policy::none()).build().unwrap();

    let response = client.get(app.url("/")).send().await.unwrap();

    assert_eq!(response.status(), 302);
    assert_eq!(header(&response, "location"), "/explore");
}

#[tokio::test]
async fn every_file_of_the_page_has_its_content_type_and_security_headers() {
    let app = spawn_app().await;

    let files = page_files(&app).await;

    assert!(
        files.len() >= 4,
        "the page loads its styles and scripts: {files:?}"
    );
    for path in &files {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        let content_type = header(&response, "content-type");
        assert!(
            content_type.starts_with(expected_content_type(path)),
            "{path}: {content_type}"
        );
        assert_eq!(header(&response, "x-content-type-options"), "nosniff");
        assert_eq!(header(&response, "referrer-policy"), "no-referrer");
        assert_eq!(header(&response, "cache-control"), "no-cache", "{path}");
        assert!(header(&response, "etag").starts_with('"'), "{path}");
        let policy = header(&response, "content-security-policy");
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ] {
            assert!(
                policy.split(';').any(|d| d.trim() == directive),
                "{path}: {directive} missing from {policy}"
            );
        }
        assert!(!policy.contains("unsafe"), "{path}: {policy}");
    }
}

#[tokio::test]
async fn the_page_has_no_inline_code_and_loads_nothing_from_elsewhere() {
    let app = spawn_app().await;

    for path in page_files(&app).await {
        let text = app.get(&path).await.text().await.unwrap();

        // The one absolute URL allowed is the SVG namespace, a name rather than a request.
        let remote = text
            .replace("http://www.w3.org/2000/svg", "")
            .contains("://");
        assert!(!remote, "{path} names another origin");
        if path == "/explore" {
            assert!(
                !text.contains("<style") && !text.contains(" style="),
                "inline style"
            );
            for script in text.split("<script").skip(1) {
                assert!(
                    script.starts_with(" type=\"module\" src=\"/explore/"),
                    "inline script"
                );
            }
        }
        assert!(
            !text.contains("innerHTML"),
            "{path} writes markup from strings"
        );
    }
}

#[tokio::test]
async fn a_browser_with_the_current_copy_gets_a_304_without_a_body() {
    let app = spawn_app().await;
    let first = app.get("/explore/explore.js").await;
    let etag = header(&first, "etag");

    let again = app
        .client
        .get(app.url("/explore/explore.js"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();

    assert_eq!(again.status(), 304);
    assert_eq!(header(&again, "etag"), etag);
    assert!(again.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_page_needs_no_credentials_and_is_not_rate_limited() {
    let app = spawn_app_with(
        TestConfig::new(&shared_redis_url())
            .set("RATE_LIMIT_BURST", "1")
            .set("RATE_LIMIT_PER_MINUTE", "1"),
    )
    .await;

    for _ in 0..5 {
        let response = app.get("/explore").await;
        assert_eq!(response.status(), 200);
        assert!(response.headers().get("ratelimit").is_none());
    }
    // The same address is limited on the API: the page's requests were really not counted.
    assert_eq!(app.get("/api/events").await.status(), 200);
    assert_eq!(app.get("/api/events").await.status(), 429);
}

#[tokio::test]
async fn the_page_is_not_an_operation_of_the_api_document() {
    let app = spawn_app().await;

    let document = json_body(app.get("/openapi.json").await).await;

    let paths = document["paths"].as_object().unwrap();
    assert!(!paths.contains_key("/"));
    assert!(
        !paths.keys().any(|p| p.starts_with("/explore")),
        "{paths:?}"
    );
}

#[tokio::test]
async fn an_unknown_file_under_the_page_is_a_404_problem() {
    let app = spawn_app().await;

    let response = app.get("/explore/missing.js").await;

    assert_problem(response, 404, "not_found").await;
}
