//! Building and running the server: [`Application::build`] binds the port and wires the
//! state; [`Application::run_until_stopped`] serves until the shutdown future resolves, then
//! stops accepting and gives in-flight requests `SHUTDOWN_GRACE_SECONDS` to finish.

use std::net::SocketAddr;

use poem::{
    Server,
    listener::{Acceptor, Listener, TcpAcceptor, TcpListener},
};

use crate::{
    api::{self, AppState},
    config::Settings,
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
    acceptor: TcpAcceptor,
    address: SocketAddr,
    state: AppState,
}

impl Application {
    /// Binds the listening socket (port 0 picks a free port) and prepares the Redis
    /// connection. Redis does not have to be up yet: `/ready` reports it.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let store = Store::new(&settings)?;
        crate::metrics::handle();
        let bind = settings.bind_address();
        let acceptor = TcpListener::bind(bind.clone())
            .into_acceptor()
            .await
            .map_err(|source| StartupError::Bind {
                address: bind.clone(),
                source,
            })?;
        let address = acceptor
            .local_addr()
            .first()
            .and_then(|addr| addr.as_socket_addr().copied())
            .ok_or_else(|| StartupError::Bind {
                address: bind,
                source: std::io::Error::other("no local address"),
            })?;
        Ok(Self {
            acceptor,
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
        let grace = self.state.settings.shutdown_grace;
        tracing::info!(address = %self.address, "listening");
        Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(api::routes(self.state), shutdown, Some(grace))
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
