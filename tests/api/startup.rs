//! Starting and stopping the binary itself.

use std::process::Command;

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
    let mut app = crate::helpers::spawn_app().await;
    let request = app
        .client
        .post(app.url("/api/simulate"))
        .header("X-Actor-ID", "alice")
        .header("content-type", "application/json")
        .body(crate::helpers::slow_simulation_body())
        .send();
    let in_flight = tokio::spawn(request);
    tokio::time::sleep(crate::helpers::SLOW_BODY_SIGNAL_AFTER).await;

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
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_trickster-oracle"))
        .env_clear()
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("REDIS_URL", crate::helpers::shared_redis_url())
        .env("REDIS_KEY_PREFIX", format!("sigterm{port}"))
        .env("LOG_LEVEL", "warn")
        .current_dir(env!("CARGO_TARGET_TMPDIR"))
        .spawn()
        .expect("binary starts");
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let mut ready = false;
    for _ in 0..100 {
        if client
            .get(format!("{base}/ready"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(ready, "the service came up");
    let slow = tokio::spawn(
        client
            .post(format!("{base}/api/simulate"))
            .header("X-Actor-ID", "draining")
            .header("content-type", "application/json")
            .body(crate::helpers::slow_simulation_body())
            .send(),
    );
    tokio::time::sleep(crate::helpers::SLOW_BODY_SIGNAL_AFTER).await;

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    let response = slow
        .await
        .unwrap()
        .expect("the in-flight request is answered");
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();

    assert!(killed.success());
    assert_eq!(response.status(), 200);
    assert!(status.success(), "exit status {status:?}");
}
