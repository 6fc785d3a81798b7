//! The HTTP edge met the way a hostile or careless client meets it: bodies over the limit on
//! every framing, invented methods, slow heads and bodies, idle and surplus connections, a
//! full engine queue, requests without credentials, forged proxy headers.

use std::time::Duration;

use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use trickster_oracle::{
    domain::{catalogue, fingerprint::fingerprint},
    store::{Keys, Slot},
};

use crate::helpers::{TestApp, TestConfig, assert_problem, shared_redis_url, spawn_app_with};

fn config() -> TestConfig {
    TestConfig::new(&shared_redis_url())
}

/// An HTTP/2 connection without TLS (prior knowledge), its driver running alongside.
async fn h2(app: &TestApp) -> h2::client::SendRequest<bytes::Bytes> {
    let tcp = TcpStream::connect(app.address).await.unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

#[tokio::test]
async fn an_http2_body_over_the_limit_is_refused_while_it_arrives() {
    let app = spawn_app_with(config()).await;
    let mut client = h2(&app).await.ready().await.unwrap();
    let request = http::Request::post("/api/simulate")
        .header("content-type", "application/json")
        .header("x-actor-id", "big-h2")
        .body(())
        .unwrap();

    // 2 MB of JSON whitespace in data frames, no content-length.
    let (response, mut body) = client.send_request(request, false).unwrap();
    let chunk = bytes::Bytes::from(vec![b' '; 64 * 1024]);
    for _ in 0..32 {
        body.reserve_capacity(chunk.len());
        if body.send_data(chunk.clone(), false).is_err() {
            break; // the server answered and reset the stream
        }
    }
    let _ = body.send_data(bytes::Bytes::from_static(b"{}"), true);
    let response = response.await.unwrap();

    assert_eq!(response.status(), 413);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
}

#[tokio::test]
async fn an_http2_connection_carries_a_bounded_number_of_streams() {
    let app = spawn_app_with(config().set("HTTP2_MAX_CONCURRENT_STREAMS", "7")).await;
    let tcp = TcpStream::connect(app.address).await.unwrap();
    let (client, mut connection) = h2::client::handshake(tcp).await.unwrap();
    let mut client = client.ready().await.unwrap();
    let (response, _) = client
        .send_request(http::Request::get("/health").body(()).unwrap(), true)
        .unwrap();

    // Drive the connection until the answer arrives: the server's settings came first.
    tokio::pin!(response);
    let status = tokio::select! {
        answered = &mut response => answered.unwrap().status(),
        _ = &mut connection => panic!("the connection ended"),
    };

    assert_eq!(status, 200);
    assert_eq!(connection.max_concurrent_send_streams(), 7);
}

#[tokio::test]
async fn invented_methods_share_one_metric_label() {
    let app = spawn_app_with(config()).await;

    for i in 0..1_000 {
        let method = reqwest::Method::from_bytes(format!("Q{i}X").as_bytes()).unwrap();
        let response = app
            .client
            .request(method, app.url("/health"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405);
    }
    let metrics = app.get("/metrics").await.text().await.unwrap();

    assert!(
        !metrics.contains("method=\"Q"),
        "no series per invented method"
    );
    assert!(metrics.contains("method=\"other\""), "{metrics}");
}

/// Reads until the server closes the connection or `limit` passes; what was read.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<Vec<u8>> {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let read_all = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(limit, read_all).await.ok()?;
    Some(received)
}

#[tokio::test]
async fn a_client_trickling_its_head_is_disconnected() {
    let app = spawn_app_with(config().set("HTTP_HEADER_READ_TIMEOUT_MS", "500")).await;
    let mut stream = TcpStream::connect(app.address).await.unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: test\r\n")
        .await
        .unwrap();

    // One header line every 200 ms: the head would take 4 s to complete.
    let mut cut_off = false;
    for i in 0..20 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let line = format!("X-Slow-{i}: y\r\n");
        if stream.write_all(line.as_bytes()).await.is_err() {
            cut_off = true;
            break;
        }
        let mut probe = [0u8; 64];
        match tokio::time::timeout(Duration::from_millis(1), stream.read(&mut probe)).await {
            Ok(Ok(0) | Err(_)) => {
                cut_off = true;
                break;
            }
            Ok(Ok(n)) => {
                assert!(!probe[..n].starts_with(b"HTTP/1.1 200"), "never served");
                cut_off = true;
                break;
            }
            Err(_) => {}
        }
    }

    assert!(
        cut_off,
        "the connection was closed before the head was complete"
    );
}

#[tokio::test]
async fn a_body_that_stops_arriving_is_a_408_and_the_connection_closes() {
    let app = spawn_app_with(config().set("HTTP_BODY_READ_TIMEOUT_MS", "500")).await;
    let mut stream = TcpStream::connect(app.address).await.unwrap();

    stream
        .write_all(
            b"POST /api/simulate HTTP/1.1\r\nHost: test\r\nX-Actor-ID: slow\r\n\
              Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"event_id\"",
        )
        .await
        .unwrap();
    let answer = read_until_closed(&mut stream, Duration::from_secs(10))
        .await
        .expect("answered and closed");

    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"code\":\"request_timeout\""), "{text}");
    assert!(text.to_lowercase().contains("connection: close"), "{text}");
}

#[tokio::test]
async fn a_kept_alive_connection_left_idle_is_closed() {
    let app = spawn_app_with(config().set("HTTP_HEADER_READ_TIMEOUT_MS", "500")).await;
    let mut stream = TcpStream::connect(app.address).await.unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();

    let answer = read_until_closed(&mut stream, Duration::from_secs(10))
        .await
        .expect("the idle connection is closed by the server");

    assert!(answer.starts_with(b"HTTP/1.1 200"), "answered first");
}

#[tokio::test]
async fn an_idle_http2_connection_is_closed() {
    let app = spawn_app_with(
        config()
            .set("HTTP_IDLE_TIMEOUT_MS", "1500")
            .set("REQUEST_TIMEOUT_MS", "1000")
            .set("CACHE_WAIT_MS", "500"),
    )
    .await;
    let tcp = TcpStream::connect(app.address).await.unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.unwrap();
    let mut client = client.ready().await.unwrap();
    let (response, _) = client
        .send_request(http::Request::get("/health").body(()).unwrap(), true)
        .unwrap();
    let driver = tokio::spawn(connection);
    assert_eq!(response.await.unwrap().status(), 200);

    let ended = tokio::time::timeout(Duration::from_secs(10), driver).await;

    assert!(ended.is_ok(), "the server closed the idle connection");
}

#[tokio::test]
async fn connections_over_the_cap_wait_until_one_closes() {
    let app = spawn_app_with(config().set("HTTP_MAX_CONNECTIONS", "2")).await;
    let first = TcpStream::connect(app.address).await.unwrap();
    let _second = TcpStream::connect(app.address).await.unwrap();
    let mut third = TcpStream::connect(app.address).await.unwrap();
    third
        .write_all(b"GET /health HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();

    let mut buf = [0u8; 16];
    let while_full = tokio::time::timeout(Duration::from_millis(700), third.read(&mut buf)).await;
    drop(first);
    let answer = read_until_closed(&mut third, Duration::from_secs(10))
        .await
        .expect("served once a connection closed");

    assert!(
        while_full.is_err(),
        "not served while two connections are open"
    );
    assert!(answer.starts_with(b"HTTP/1.1 200"));
}

/// Makes `event_id` with `seed` look as if another instance were computing it, for `ms`.
async fn lock_as_if_computing(app: &TestApp, event_id: &str, seed: u64, ms: u64) {
    let matchup = catalogue::find(event_id).unwrap().matchup();
    let keys = Keys::new(app.config.vars["REDIS_KEY_PREFIX"].clone());
    let lock = keys.cache_lock(&fingerprint(&matchup, 1000, seed));
    let mut redis = app.redis_conn().await;
    let _: () = redis::cmd("SET")
        .arg(lock)
        .arg("someone-else")
        .arg("PX")
        .arg(ms)
        .query_async(&mut redis)
        .await
        .unwrap();
}

/// Starts `count` simulations that wait on a locked result, and returns once each of them
/// has been admitted (its rate-limit bucket exists).
async fn occupy(app: &TestApp, count: usize, event_id: &str, seed: u64) {
    lock_as_if_computing(app, event_id, seed, 3_000).await;
    let keys = Keys::new(app.config.vars["REDIS_KEY_PREFIX"].clone());
    let mut redis = app.redis_conn().await;
    for i in 0..count {
        let actor = format!("waiter-{i}");
        let request = app
            .client
            .post(app.url("/api/simulate"))
            .header("X-Actor-ID", &actor)
            .json(&json!({ "event_id": event_id, "iterations": 1000, "seed": seed }))
            .send();
        tokio::spawn(request);
        let bucket = keys.rate_bucket(&Slot::Actor(actor));
        for _ in 0..200 {
            let exists: bool = redis::cmd("EXISTS")
                .arg(&bucket)
                .query_async(&mut redis)
                .await
                .unwrap();
            if exists {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

#[tokio::test]
async fn a_full_engine_queue_answers_overloaded_before_holding_or_claiming() {
    let app = spawn_app_with(
        config()
            .set("ENGINE_QUEUE_MAX", "0")
            .set("CACHE_WAIT_MS", "5000"),
    )
    .await;
    let cached = json!({ "event_id": "demo_001", "iterations": 1000, "seed": 81 });
    let hit = |actor: &'static str| {
        app.client
            .post(app.url("/api/simulate"))
            .header("X-Actor-ID", actor)
            .json(&cached)
            .send()
    };
    assert_eq!(hit("warm").await.unwrap().status(), 200);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    occupy(&app, threads, "demo_002", 82).await;

    let refused = app
        .client
        .post(app.url("/api/simulate"))
        .header("X-Actor-ID", "late")
        .header("Idempotency-Key", "k-late")
        .json(&json!({ "event_id": "demo_003", "iterations": 1000, "seed": 83 }))
        .send()
        .await
        .unwrap();
    let health = app.get("/health").await;
    let served_hit = hit("reader").await.unwrap();

    let problem = assert_problem(refused, 503, "overloaded").await;
    assert!(problem["retry_after_seconds"].as_u64().unwrap() >= 1);
    assert_eq!(health.status(), 200);
    assert_eq!(served_hit.status(), 200, "cache hits need no engine");
    let mut redis = app.redis_conn().await;
    let prefix = &app.config.vars["REDIS_KEY_PREFIX"];
    let written: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:{{a:late}}:*"))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(written.is_empty(), "nothing held or claimed: {written:?}");
}

#[tokio::test]
async fn requests_over_the_in_flight_cap_are_overloaded_but_probes_answer() {
    let app = spawn_app_with(
        config()
            .set("MAX_REQUESTS_IN_FLIGHT", "2")
            .set("CACHE_WAIT_MS", "5000"),
    )
    .await;
    occupy(&app, 2, "demo_004", 84).await;

    let refused = app.get("/api/events").await;
    let health = app.get("/health").await;
    let ready = app.get("/ready").await;

    assert_problem(refused, 503, "overloaded").await;
    assert_eq!(health.status(), 200);
    assert_eq!(ready.status(), 200);
}

#[tokio::test]
async fn protected_routes_authorise_before_they_parse() {
    let disabled = spawn_app_with(config()).await;
    let enabled = spawn_app_with(config().set("ADMIN_TOKEN", "admin-token-0123456789")).await;
    let send = |app: &TestApp, method: reqwest::Method, path: &str, body: &'static str, ty| {
        app.client
            .request(method, app.url(path))
            .header("content-type", ty)
            .body(body)
            .send()
    };
    use reqwest::Method;
    let cases = [
        (Method::POST, "/api/admin/grants", "{}", "application/json"),
        (Method::POST, "/api/admin/grants", "x", "text/plain"),
        (
            Method::DELETE,
            "/api/admin/api-keys/zz",
            "",
            "application/json",
        ),
        (Method::GET, "/api/admin/grants", "", "application/json"),
    ];

    for (method, path, body, ty) in cases.clone() {
        let vanished = send(&disabled, method.clone(), path, body, ty)
            .await
            .unwrap();
        let locked = send(&enabled, method, path, body, ty).await.unwrap();
        assert_problem(vanished, 404, "not_found").await;
        assert_problem(locked, 401, "unauthorized").await;
    }
    let anonymous = send(
        &enabled,
        Method::POST,
        "/api/simulate",
        "not json at all",
        "text/plain",
    )
    .await
    .unwrap();
    assert_problem(anonymous, 401, "unauthorized").await;
}

#[tokio::test]
async fn callers_without_credentials_are_rate_limited_by_address() {
    let app = spawn_app_with(config().set("RATE_LIMIT_BURST", "3")).await;

    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(app.get("/api/balance").await.status().as_u16());
    }

    assert_eq!(statuses, [401, 401, 401, 429, 429, 429]);
}

#[tokio::test]
async fn the_client_address_is_the_trusted_hop_whatever_the_client_forged() {
    let app = spawn_app_with(
        config()
            .set("TRUSTED_PROXY_HOPS", "2")
            .set("RATE_LIMIT_BURST", "2"),
    )
    .await;
    let from = |lines: &'static [&'static str]| {
        let mut request = app.client.get(app.url("/api/events"));
        for line in lines {
            request = request.header("x-forwarded-for", *line);
        }
        request.send()
    };

    // The outer proxy saw 203.0.113.7; what the client wrote before it is not believed.
    let first = from(&["6.6.6.6, 203.0.113.7", "10.0.0.2"]).await.unwrap();
    let second = from(&["7.7.7.7", "203.0.113.7, 10.0.0.2"]).await.unwrap();
    let third = from(&["8.8.8.8, 203.0.113.7", "10.0.0.2"]).await.unwrap();
    let other = from(&["6.6.6.6, 203.0.113.8", "10.0.0.2"]).await.unwrap();

    assert_eq!(first.status(), 200);
    assert_eq!(second.status(), 200);
    assert_eq!(third.status(), 429, "one bucket for 203.0.113.7");
    assert_eq!(other.status(), 200, "another client, another bucket");
}
