//! What an operator reads: metric names and help, build identity, a closable `/metrics`,
//! trace context, and access lines that name the instance, client and trace.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

use serde_json::Value;
use trickster_oracle::metrics::NAMES;

use crate::helpers::{TestConfig, assert_problem, json_body, shared_redis_url, spawn_app_with};

#[tokio::test]
async fn every_metric_has_the_prefix_and_help_and_the_build_is_named() {
    let app = spawn_app_with(TestConfig::new(&shared_redis_url())).await;
    app.client
        .post(app.url("/api/simulate"))
        .header("X-Actor-ID", "ops")
        .json(&serde_json::json!({ "event_id": "demo_001", "iterations": 100, "seed": 1 }))
        .send()
        .await
        .unwrap();

    let text = app.get("/metrics").await.text().await.unwrap();

    for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
        let name = line.split_whitespace().nth(2).unwrap();
        assert!(name.starts_with("trickster_"), "unprefixed: {line}");
        assert!(
            text.contains(&format!("# HELP {name} ")),
            "{name} has no help"
        );
    }
    for name in [
        "trickster_build_info",
        "trickster_http_requests_total",
        "trickster_process_cpu_seconds_total",
        "trickster_process_resident_memory_bytes",
        "trickster_process_open_fds",
        "trickster_process_start_time_seconds",
        "trickster_http_requests_in_flight",
        "trickster_engine_queue_depth",
        "trickster_redis_up",
    ] {
        assert!(NAMES.iter().any(|(n, _)| *n == name), "{name} not listed");
        assert!(text.contains(&format!("\n{name}")), "{name} missing");
    }
    let build = text
        .lines()
        .find(|l| l.starts_with("trickster_build_info{"))
        .unwrap();
    for label in [
        "version=\"",
        "commit=\"",
        "model_version=\"elo-logistic-mc/",
    ] {
        assert!(build.contains(label), "{build}");
    }
    assert!(build.ends_with(" 1"), "{build}");
}

#[tokio::test]
async fn metrics_can_be_closed_with_a_token() {
    let token = "metrics-token-0123456789";
    let app =
        spawn_app_with(TestConfig::new(&shared_redis_url()).set("METRICS_TOKEN", token)).await;

    let anonymous = app.get("/metrics").await;
    let wrong = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("metrics-token-wrong-000")
        .send()
        .await
        .unwrap();
    let right = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();

    assert_problem(anonymous, 404, "not_found").await;
    assert_problem(wrong, 404, "not_found").await;
    assert_eq!(right.status(), 200);
    assert!(right.text().await.unwrap().contains("trickster_build_info"));
}

#[tokio::test]
async fn a_trace_is_continued_or_started_and_named_in_problems() {
    let app = spawn_app_with(TestConfig::new(&shared_redis_url())).await;
    let caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    let continued = app
        .client
        .get(app.url("/api/nothing"))
        .header("traceparent", caller)
        .send()
        .await
        .unwrap();
    let started = app.get("/api/nothing").await;

    let header = continued.headers()["traceparent"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        header.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
        "{header}"
    );
    assert!(
        !header.contains("00f067aa0ba902b7"),
        "a span of its own: {header}"
    );
    let problem = assert_problem(continued, 404, "not_found").await;
    assert_eq!(problem["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    let own = started.headers()["traceparent"]
        .to_str()
        .unwrap()
        .to_owned();
    let problem = json_body(started).await;
    assert_eq!(own.split('-').nth(1), problem["trace_id"].as_str());
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn access_lines_name_the_instance_client_and_trace_and_probes_stay_quiet() {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_trickster-oracle"))
        .env_clear()
        .current_dir(env!("CARGO_TARGET_TMPDIR"))
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("REDIS_URL", shared_redis_url())
        .env("REDIS_KEY_PREFIX", format!("logs{port}"))
        .env("INSTANCE_NAME", "api-7")
        .env("LOG_LEVEL", "info")
        .env("LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let mut ready = false;
    for _ in 0..100 {
        if client.get(format!("{base}/ready")).send().await.is_ok() {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "the service started");
    for path in ["/health", "/ready", "/api/events", "/api/missing"] {
        client
            .get(format!("{base}{path}"))
            .header("user-agent", "ops-test/1.0")
            .send()
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    child.kill().unwrap();
    let stdout = child.stdout.take().unwrap();
    let lines: Vec<Value> = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_str(&l).ok())
        .collect();
    let _ = child.wait();

    let access: Vec<&Value> = lines.iter().filter(|l| l["target"] == "access").collect();
    let routes: Vec<&str> = access.iter().filter_map(|l| l["route"].as_str()).collect();
    assert!(
        !routes.contains(&"/health") && !routes.contains(&"/ready"),
        "{routes:?}"
    );
    assert!(
        routes.contains(&"/api/events") && routes.contains(&"unmatched"),
        "{routes:?}"
    );
    for line in access {
        assert_eq!(line["instance"], "api-7", "{line}");
        assert_eq!(line["client"], "127.0.0.1", "{line}");
        assert_eq!(line["user_agent"], "ops-test/1.0", "{line}");
        assert_eq!(line["trace_id"].as_str().map(str::len), Some(32), "{line}");
    }
}
