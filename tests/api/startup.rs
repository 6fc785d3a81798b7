//! Starting and stopping the binary itself (as a process, and in-process for the drain).

use std::{process::Command, time::Duration};

use reqwest::Method;

use crate::helpers::{
    SLOW_BODY_SIGNAL_AFTER, TestConfig, shared_redis_url, slow_simulation_body, spawn_app,
    spawn_process,
};

fn start_with(vars: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_trickster-oracle"));
    command.env_clear().current_dir(env!("CARGO_TARGET_TMPDIR"));
    for (key, value) in vars {
        command.env(key, value);
    }
    command.output().expect("binary runs")
}

#[test]
fn a_bad_configuration_value_stops_startup_naming_the_variable() {
    let output = start_with(&[("PORT", "not-a-port")]);

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("PORT"), "{stderr}");
}

#[test]
fn production_without_an_admin_token_refuses_to_start() {
    let output = start_with(&[("ENV", "production")]);

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("ADMIN_TOKEN"), "{stderr}");
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_request_finish() {
    let mut app = spawn_app().await;
    let request = app
        .as_actor(Method::POST, "/api/simulate", "alice")
        .header("content-type", "application/json")
        .body(slow_simulation_body())
        .send();
    let in_flight = tokio::spawn(request);
    tokio::time::sleep(SLOW_BODY_SIGNAL_AFTER).await;

    let server = app.signal_shutdown();
    let response = in_flight
        .await
        .unwrap()
        .expect("the in-flight request completes");

    assert_eq!(response.status(), 200);
    server.await.unwrap().expect("the server stops cleanly");
    assert!(
        app.client.get(app.url("/health")).send().await.is_err(),
        "no new connections after shutdown"
    );
}

#[test]
fn production_refuses_a_wildcard_cors_origin() {
    let output = start_with(&[
        ("ENV", "production"),
        ("ADMIN_TOKEN", "a-long-admin-token-123"),
        ("CORS_ORIGINS", "*"),
    ]);

    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("CORS_ORIGINS"));
}

#[test]
fn production_refuses_header_auth_unless_allowed() {
    let output = start_with(&[
        ("ENV", "production"),
        ("ADMIN_TOKEN", "a-long-admin-token-123"),
        ("AUTH_MODE", "header"),
    ]);

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("AUTH_MODE") && stderr.contains("ALLOW_HEADER_AUTH"),
        "{stderr}"
    );
}

#[tokio::test]
async fn sigterm_drains_an_in_flight_request_and_exits_zero() {
    let mut service = spawn_process(&TestConfig::new(&shared_redis_url())).await;
    let client = reqwest::Client::new();
    let slow = tokio::spawn(
        client
            .post(format!("{}/api/simulate", service.base_url()))
            .header("X-Actor-ID", "draining")
            .header("content-type", "application/json")
            .body(slow_simulation_body())
            .send(),
    );
    tokio::time::sleep(SLOW_BODY_SIGNAL_AFTER).await;

    let terminated = service.terminate();
    let response = slow
        .await
        .unwrap()
        .expect("the in-flight request is answered");
    let (status, _service) = tokio::task::spawn_blocking(move || {
        let status = service.wait(Duration::from_secs(30));
        (status, service)
    })
    .await
    .unwrap();

    assert!(terminated.is_ok(), "{terminated:?}");
    assert_eq!(response.status(), 200);
    let status = status.expect("the process ended within 30 s");
    assert!(status.success(), "exit status {status:?}");
}
