//! Entry point: settings → telemetry → application → serve until SIGTERM/Ctrl-C.
//!
//! Two subcommands serve tooling: `openapi` prints the OpenAPI document (the source of
//! `docs/openapi.json`), and `healthcheck` asks the local instance's `/health` and exits 0
//! or 1 (the container `HEALTHCHECK`, so the runtime image needs no curl).

use std::{
    io::{Read, Write},
    net::{Ipv4Addr, TcpStream},
    process::ExitCode,
    time::Duration,
};

use trickster_oracle::{config::Settings, startup, telemetry};

/// See `Cargo.toml`: the service allocates many small buffers per request.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(errors) => {
            for line in errors.to_string().lines() {
                eprintln!("trickster-oracle: {line}");
            }
            return ExitCode::from(2);
        }
    };
    if std::env::args().nth(1).as_deref() == Some("healthcheck") {
        return healthcheck(settings.port);
    }
    if std::env::args().nth(1).as_deref() == Some("openapi") {
        return match trickster_oracle::api::openapi_document(settings) {
            Ok(spec) => {
                println!("{spec}");
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("trickster-oracle: {err}");
                ExitCode::FAILURE
            }
        };
    }
    let telemetry = telemetry::init(&settings);
    let app = match startup::Application::build(settings).await {
        Ok(app) => app,
        Err(err) => {
            tracing::error!(error = %err, "startup failed");
            eprintln!("trickster-oracle: {err}");
            telemetry.shutdown();
            return ExitCode::FAILURE;
        }
    };
    let outcome = match app.run_until_stopped(startup::shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "server failed");
            ExitCode::FAILURE
        }
    };
    telemetry.shutdown();
    outcome
}

/// `GET /health` on the loopback interface with a short timeout.
fn healthcheck(port: u16) -> ExitCode {
    let probe = || -> std::io::Result<bool> {
        let timeout = Duration::from_secs(2);
        let mut stream = TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, port).into(), timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head)?;
        Ok(head.starts_with(b"HTTP/1.1 200"))
    };
    match probe() {
        Ok(true) => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    }
}
