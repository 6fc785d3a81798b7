//! Entry point: settings → telemetry → application → serve until SIGTERM/Ctrl-C.
//! `trickster-oracle openapi` prints the OpenAPI document instead (used for `docs/openapi.json`).

use std::process::ExitCode;

use trickster_oracle::{config::Settings, startup, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("trickster-oracle: {err}");
            return ExitCode::from(2);
        }
    };
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
    telemetry::init(&settings);
    let app = match startup::Application::build(settings).await {
        Ok(app) => app,
        Err(err) => {
            tracing::error!(error = %err, "startup failed");
            eprintln!("trickster-oracle: {err}");
            return ExitCode::FAILURE;
        }
    };
    match app.run_until_stopped(startup::shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "server failed");
            ExitCode::FAILURE
        }
    }
}
