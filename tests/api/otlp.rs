//! Span export over OTLP/HTTP (cargo feature `otlp`): a receiver in the test stands in for
//! an OpenTelemetry collector, and the request spans of a real process must reach it with
//! the request's own trace, span and parent ids.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpListener,
    sync::{Arc, Mutex},
};

use crate::helpers::{TestConfig, shared_redis_url, spawn_process};

/// One request the receiver got: its request line, content type and body.
#[derive(Debug, Clone)]
struct Received {
    request_line: String,
    content_type: String,
    body: Vec<u8>,
}

/// A minimal OTLP/HTTP receiver on a loopback port: answers every request with an empty 200
/// (a valid `ExportTraceServiceResponse`) and keeps what it got.
fn otlp_receiver() -> (String, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let store = store.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut writer = stream;
                loop {
                    let mut request_line = String::new();
                    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                        return;
                    }
                    let (mut length, mut content_type) = (0usize, String::new());
                    loop {
                        let mut line = String::new();
                        reader.read_line(&mut line).unwrap();
                        let line = line.trim_end();
                        if line.is_empty() {
                            break;
                        }
                        let (name, value) = line.split_once(':').unwrap_or((line, ""));
                        match name.to_ascii_lowercase().as_str() {
                            "content-length" => length = value.trim().parse().unwrap(),
                            "content-type" => content_type = value.trim().to_owned(),
                            _ => {}
                        }
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    store.lock().unwrap().push(Received {
                        request_line: request_line.trim_end().to_owned(),
                        content_type,
                        body,
                    });
                    let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
                    writer.write_all(answer.as_bytes()).unwrap();
                }
            });
        }
    });
    (endpoint, received)
}

fn contains(haystack: &[u8], hex: &str) -> bool {
    let needle = hex::decode(hex).unwrap();
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn request_spans_reach_an_otlp_receiver_with_the_request_s_trace() {
    let (endpoint, received) = otlp_receiver();
    // A long batch delay: the spans leave when the process stops, so this also proves the
    // last spans are flushed on SIGTERM.
    let config = TestConfig::new(&shared_redis_url())
        .set("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
        .set("OTEL_BSP_SCHEDULE_DELAY", "60000")
        .set("OTEL_SERVICE_NAME", "trickster-otlp-test");
    let mut service = spawn_process(&config).await;
    let client = reqwest::Client::new();
    let caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";

    let continued = client
        .get(format!("{}/api/events", service.base_url()))
        .header("traceparent", format!("00-{caller_trace}-{caller_span}-01"))
        .send()
        .await
        .unwrap();
    let started = client
        .get(format!("{}/api/nothing", service.base_url()))
        .send()
        .await
        .unwrap();
    let ids = |response: &reqwest::Response| -> (String, String) {
        let header = response.headers()["traceparent"].to_str().unwrap();
        let parts: Vec<&str> = header.split('-').collect();
        (parts[1].to_owned(), parts[2].to_owned())
    };
    let (continued_trace, continued_span) = ids(&continued);
    let (own_trace, own_span) = ids(&started);
    tokio::task::spawn_blocking(move || service.stop())
        .await
        .unwrap();

    let received = received.lock().unwrap().clone();
    assert!(!received.is_empty(), "no export reached the receiver");
    for export in &received {
        assert_eq!(export.request_line, "POST /v1/traces HTTP/1.1");
        assert_eq!(export.content_type, "application/x-protobuf");
    }
    let bodies: Vec<u8> = received.iter().flat_map(|r| r.body.clone()).collect();
    assert_eq!(continued_trace, caller_trace);
    assert!(contains(&bodies, caller_trace), "the caller's trace id");
    assert!(
        contains(&bodies, caller_span),
        "the caller's span, as parent"
    );
    assert!(
        contains(&bodies, &continued_span),
        "the span the response named"
    );
    assert!(contains(&bodies, &own_trace), "a trace the service started");
    assert!(contains(&bodies, &own_span), "the span of that request");
    assert!(
        bodies
            .windows(b"trickster-otlp-test".len())
            .any(|w| w == b"trickster-otlp-test"),
        "the service name"
    );
}
