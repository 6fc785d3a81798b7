//! The primary that Sentinels name (`REDIS_SENTINEL_URLS`, `REDIS_SENTINEL_MASTER`), followed
//! across failovers without a restart.
//!
//! redis-rs asks the Sentinels for the primary and checks its `ROLE`, but keeps no connection
//! that follows it; this module does. It holds one multiplexed connection to the primary
//! found last. A call that shows the connection broken (I/O error, refused, dropped) or the
//! node no longer primary (`READONLY`, `WAIT` refused on a replica) drops it, and so does a
//! timeout on a connection older than a second (a primary that hangs, or is cut off, gives no
//! error at all); the next call asks the Sentinels again. One lookup runs at a time, and a
//! failed one makes the next wait [`LOOKUP_PAUSE`], so a dead primary costs the Sentinels a
//! few questions a second, not one per request.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use redis::{
    AsyncConnectionConfig, ConnectionAddr, IntoConnectionInfo, RedisError, RedisResult,
    ServerErrorKind, TlsMode,
    aio::MultiplexedConnection,
    io::tcp::TcpSettings,
    sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType},
};

/// After a failed lookup, calls fail at once for this long before the Sentinels are asked
/// again.
const LOOKUP_PAUSE: Duration = Duration::from_millis(100);

/// A timeout drops the connection only when it is older than this: a slow primary is not
/// reconnected more than once a second.
const SUSPECT_AFTER: Duration = Duration::from_secs(1);

/// The primary in use: a connection to it, and which one it is (shared, not copied, by the
/// calls that use it).
pub(super) struct Primary {
    pub conn: MultiplexedConnection,
    /// `host:port` as the Sentinels named it.
    pub address: String,
    /// A client for the same node (the acknowledgement pool opens connections of its own).
    pub client: redis::Client,
    /// Changes whenever the address does: connections made for an older primary are stale.
    pub generation: u64,
    /// This connection (a failure report about an older one changes nothing).
    id: u64,
    since: Instant,
}

struct State {
    current: Option<Arc<Primary>>,
    /// The last failed lookup: when, and why.
    failed: Option<(Instant, RedisError)>,
    address: Option<String>,
    generation: u64,
    next_id: u64,
}

/// How a call on the primary's connection ended, as far as the connection is concerned.
pub(super) enum Outcome<'a> {
    Done,
    Failed(&'a RedisError),
    /// Cut off by the caller's deadline.
    TimedOut,
}

pub(super) struct SentinelPrimary {
    master: String,
    config: AsyncConnectionConfig,
    /// One lookup at a time; the client keeps its connections to the Sentinels.
    client: tokio::sync::Mutex<SentinelClient>,
    state: Mutex<State>,
}

impl SentinelPrimary {
    /// Prepares the lookups without touching the network. The primary is reached with the
    /// scheme, credentials and database of the Sentinel URLs (settings checks that they
    /// agree), trusting `certs` for TLS when given; `tcp` applies to the connections to the
    /// primary and to the Sentinels.
    pub fn new(
        urls: &[String],
        master: &str,
        config: AsyncConnectionConfig,
        tcp: TcpSettings,
        certs: Option<redis::TlsCertificates>,
    ) -> RedisResult<Self> {
        let infos = urls
            .iter()
            .map(|u| u.as_str().into_connection_info())
            .collect::<RedisResult<Vec<_>>>()?;
        let first = infos.first().cloned().ok_or_else(|| {
            RedisError::from((redis::ErrorKind::InvalidClientConfig, "no Sentinel URL"))
        })?;
        let tls = matches!(first.addr(), ConnectionAddr::TcpTls { .. });
        let access = first.redis_settings();
        let mut builder = SentinelClientBuilder::new(
            infos.iter().map(|i| i.addr().clone()),
            master,
            SentinelServerType::Master,
        )?
        .set_client_to_redis_db(access.db())
        .set_client_to_redis_tcp_settings(tcp.clone())
        .set_client_to_sentinel_tcp_settings(tcp);
        if let Some(user) = access.username() {
            builder = builder
                .set_client_to_redis_username(user)
                .set_client_to_sentinel_username(user);
        }
        if let Some(password) = access.password() {
            builder = builder
                .set_client_to_redis_password(password)
                .set_client_to_sentinel_password(password);
        }
        if tls {
            builder = builder
                .set_client_to_redis_tls_mode(TlsMode::Secure)
                .set_client_to_sentinel_tls_mode(TlsMode::Secure);
            if let Some(certs) = certs {
                builder = builder
                    .set_client_to_redis_certificates(certs.clone())
                    .set_client_to_sentinel_certificates(certs);
            }
        }
        Ok(Self {
            master: master.to_owned(),
            config,
            client: tokio::sync::Mutex::new(builder.build()?),
            state: Mutex::new(State {
                current: None,
                failed: None,
                address: None,
                generation: 0,
                next_id: 0,
            }),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The primary's connection: the current one, or a new one after asking the Sentinels.
    pub async fn get(&self) -> RedisResult<Arc<Primary>> {
        if let Some(primary) = self.state().current.clone() {
            return Ok(primary);
        }
        let mut client = self.client.lock().await;
        {
            // Another call may have found the primary, or failed to, while this one waited.
            let state = self.state();
            if let Some(primary) = state.current.clone() {
                return Ok(primary);
            }
            if let Some((at, err)) = &state.failed
                && at.elapsed() < LOOKUP_PAUSE
            {
                return Err(err.clone());
            }
        }
        // Boxed: the lookup's future is deep, and every request's future would carry it.
        let found = Box::pin(async {
            let primary = client.async_get_client().await?;
            let address = primary.get_connection_info().addr().to_string();
            let conn = primary
                .get_multiplexed_async_connection_with_config(&self.config)
                .await?;
            Ok::<_, RedisError>((address, primary, conn))
        })
        .await;
        let mut state = self.state();
        match found {
            Ok((address, client, conn)) => {
                if state.address.as_deref() != Some(&address) {
                    state.generation += 1;
                    match &state.address {
                        Some(old) => {
                            tracing::warn!(
                                master = %self.master, from = %old, to = %address,
                                "the Sentinels name another primary; following it"
                            );
                            crate::metrics::record_redis_primary_change();
                        }
                        None => tracing::info!(
                            master = %self.master, primary = %address,
                            "connected to the primary the Sentinels name"
                        ),
                    }
                    state.address = Some(address.clone());
                }
                state.next_id += 1;
                let primary = Arc::new(Primary {
                    conn,
                    address,
                    client,
                    generation: state.generation,
                    id: state.next_id,
                    since: Instant::now(),
                });
                state.current = Some(primary.clone());
                state.failed = None;
                Ok(primary)
            }
            Err(err) => {
                state.failed = Some((Instant::now(), err.clone()));
                Err(err)
            }
        }
    }

    /// The primary in use, if a connection to it is open.
    pub fn address(&self) -> Option<String> {
        let state = self.state();
        state.current.as_ref().map(|p| p.address.clone())
    }

    /// The generation of the primary found last (see [`Primary::generation`]).
    pub fn generation(&self) -> u64 {
        self.state().generation
    }

    /// Notes how a call on `primary`'s connection ended; a connection that is broken, no
    /// longer the primary's, or hanging is dropped, so the next call asks the Sentinels.
    pub fn report(&self, primary: &Primary, outcome: Outcome<'_>) {
        let drop_it = match outcome {
            Outcome::Done => false,
            Outcome::Failed(err) => not_usable(err),
            Outcome::TimedOut => primary.since.elapsed() > SUSPECT_AFTER,
        };
        if drop_it {
            let mut state = self.state();
            if state.current.as_ref().is_some_and(|p| p.id == primary.id) {
                state.current = None;
            }
        }
    }
}

impl SentinelPrimary {
    /// A connection of another pool to the primary of `generation` failed with `err`: when
    /// the error shows the primary gone or demoted, the next call asks the Sentinels again.
    pub fn report_failure(&self, generation: u64, err: &RedisError) {
        if not_usable(err) {
            let mut state = self.state();
            if state
                .current
                .as_ref()
                .is_some_and(|p| p.generation == generation)
            {
                state.current = None;
            }
        }
    }
}

/// Whether an error shows a connection that cannot serve the primary any more.
pub(super) fn not_usable(err: &RedisError) -> bool {
    err.is_io_error()
        || err.is_connection_dropped()
        || err.is_connection_refusal()
        || err.is_unrecoverable_error()
        || matches!(
            err.kind(),
            redis::ErrorKind::Server(ServerErrorKind::ReadOnly | ServerErrorKind::MasterDown)
        )
        // A demoted primary refuses WAIT: "WAIT cannot be used with replica instances".
        || err.to_string().contains("replica instances")
}
