//! Building and running the server: [`Application::build`] binds the port and wires the
//! state; [`Application::run_until_stopped`] serves until the shutdown future resolves, then
//! stops accepting and gives in-flight requests `SHUTDOWN_GRACE_SECONDS` to finish.

use std::net::SocketAddr;

use tokio::net::TcpListener;

use crate::{
    api::{self, AppState},
    config::Settings,
    server,
    store::{Store, StoreError},
};

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
    #[error("cannot configure Redis: {0}")]
    Store(#[from] StoreError),
}

pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    state: AppState,
}

impl Application {
    /// Binds the listening socket (port 0 picks a free port) and prepares the Redis
    /// connection. Redis does not have to be up yet: `/ready` reports it.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let store = Store::new(&settings)?;
        crate::metrics::handle();
        crate::metrics::describe_build(
            crate::api::system::VERSION,
            &settings.build_commit,
            crate::domain::engine::MODEL_VERSION,
            settings.local_cache_bytes,
        );
        let bind = settings.bind_address();
        let bind_error = |source| StartupError::Bind {
            address: bind.clone(),
            source,
        };
        let listener = TcpListener::bind(&bind).await.map_err(bind_error)?;
        let address = listener.local_addr().map_err(bind_error)?;
        Ok(Self {
            listener,
            address,
            state: AppState::new(settings, store),
        })
    }

    /// The address actually bound.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves until `shutdown` resolves, then drains in-flight requests (bounded).
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        let (grace, limits) = (self.state.settings.shutdown_grace, self.state.settings.http);
        tracing::info!(address = %self.address, "listening");
        server::serve(
            self.listener,
            api::routes(self.state),
            limits,
            shutdown,
            grace,
        )
        .await
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; draining in-flight requests");
}
