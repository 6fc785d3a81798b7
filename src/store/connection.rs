//! The connection to Redis: one multiplexed connection per instance (a single server, or the
//! primary the Sentinels name, followed across failovers: `sentinel`) or a cluster client,
//! made lazily so the service starts — and answers `/health` — while Redis is still down.
//! `docs/REDIS.md` explains why this beats a pool here, with the measurement; the one pool,
//! for account changes that replicas must confirm, is in `acks`.

use std::{sync::Arc, time::Duration};

use redis::{
    AsyncConnectionConfig, IntoConnectionInfo, RedisResult,
    aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection},
    cluster::ClusterClient,
    cluster_async::ClusterConnection,
    io::tcp::TcpSettings,
};
use tokio::sync::Mutex;

use super::{
    acks::{Acks, Target},
    sentinel::{Outcome, Primary, SentinelPrimary},
};
use crate::config::{RedisTarget, Settings};

/// The connection to one server, to the primary the Sentinels name, or to a cluster.
#[derive(Clone)]
pub(super) enum Connection {
    Single {
        conn: ConnectionManager,
        client: Arc<redis::Client>,
        /// `host:port` of `REDIS_URL`, for `/ready`.
        address: String,
    },
    Cluster(ClusterHandle),
    Sentinel(Arc<SentinelPrimary>),
}

/// A cluster connection made on first use (so startup does not need the cluster), then
/// shared; the cluster client refreshes its slot map and reconnects nodes by itself.
#[derive(Clone)]
pub(super) struct ClusterHandle {
    client: Arc<ClusterClient>,
    /// The seed nodes (the acknowledgement pool makes a client of its own).
    urls: Arc<[String]>,
    conn: Arc<Mutex<Option<ClusterConnection>>>,
}

impl ClusterHandle {
    async fn get(&self) -> redis::RedisResult<ClusterConnection> {
        let mut slot = self.conn.lock().await;
        if let Some(conn) = slot.as_ref() {
            return Ok(conn.clone());
        }
        let conn = self.client.get_async_connection().await?;
        *slot = Some(conn.clone());
        Ok(conn)
    }
}

/// A connection ready for one call.
pub(super) enum Active {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
    Sentinel(MultiplexedConnection),
}

crate::delegate_connection_like!(Active, c in Active::Single(c), Active::Cluster(c), Active::Sentinel(c));

/// Which Redis node an instance uses, for `/ready`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// `single`, `sentinel` or `cluster`.
    pub mode: &'static str,
    /// `host:port` of the server (single) or of the primary in use (sentinel, once
    /// connected); a cluster spreads over its nodes and names none.
    pub address: Option<String>,
}

/// The private CA of `REDIS_TLS_CA_FILE`, as the only trust root for `rediss://`.
fn tls_roots(settings: &Settings) -> Option<redis::TlsCertificates> {
    settings
        .redis_tls_ca
        .clone()
        .map(|pem| redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(pem),
        })
}

/// `host:port` of a URL, without its credentials.
fn address_of(url: &str) -> String {
    redis::parse_redis_url(url)
        .map(|u| {
            format!(
                "{}:{}",
                u.host_str().unwrap_or_default(),
                u.port().unwrap_or(6379)
            )
        })
        .unwrap_or_default()
}

/// A client for one server, trusting `REDIS_TLS_CA_FILE` when set.
fn single_client(settings: &Settings, url: &str) -> RedisResult<redis::Client> {
    let info = url.into_connection_info()?.set_tcp_settings(tcp_settings());
    match tls_roots(settings) {
        Some(certs) => redis::Client::build_with_tls(info, certs),
        None => redis::Client::open(info),
    }
}

/// Commands are sent as soon as they are written: with Nagle's algorithm (the client's
/// default) a command written while an earlier one is unacknowledged waits for that
/// acknowledgement, and on a busy multiplexed connection that is most of them. Every client
/// of the store uses these: a single server's, the cluster's and the Sentinels' (`sentinel`).
fn tcp_settings() -> TcpSettings {
    TcpSettings::default().set_nodelay(true)
}

/// A cluster client re-sending a command at most `retries` times after a redirection or a
/// reconnect, and waiting at most `response_timeout` for an answer.
fn cluster_client(
    settings: &Settings,
    urls: &[String],
    retries: u32,
    response_timeout: Duration,
) -> RedisResult<ClusterClient> {
    let mut builder = ClusterClient::builder(urls.iter().map(String::as_str))
        .connection_timeout(settings.redis_timeout)
        .response_timeout(response_timeout)
        .retries(retries)
        .tcp_settings(tcp_settings());
    if let Some(certs) = tls_roots(settings) {
        builder = builder.certs(certs);
    }
    builder.build()
}

/// Timeouts of a plain connection.
fn connection_config(settings: &Settings) -> AsyncConnectionConfig {
    AsyncConnectionConfig::new()
        .set_connection_timeout(Some(settings.redis_timeout))
        .set_response_timeout(Some(settings.redis_timeout))
}

impl Connection {
    /// Prepares the connection without touching the network.
    pub(super) fn new(settings: &Settings) -> redis::RedisResult<Self> {
        // rustls needs a process-wide crypto provider for rediss:// URLs; a second call
        // (several instances in one test process) finds it installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        Ok(match &settings.redis {
            RedisTarget::Single(url) => {
                let client = single_client(settings, url)?;
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(settings.redis_timeout))
                    .set_response_timeout(Some(settings.redis_timeout))
                    // Reconnect attempts happen in the background; a request never waits
                    // for more than one attempt, and our own timeout bounds it anyway.
                    .set_number_of_retries(1)
                    .set_min_delay(Duration::from_millis(50))
                    .set_max_delay(Duration::from_secs(1));
                Connection::Single {
                    conn: ConnectionManager::new_lazy_with_config(client.clone(), config)?,
                    client: Arc::new(client),
                    address: address_of(url),
                }
            }
            RedisTarget::Sentinel { urls, master } => {
                Connection::Sentinel(Arc::new(SentinelPrimary::new(
                    urls,
                    master,
                    connection_config(settings),
                    tcp_settings(),
                    tls_roots(settings),
                )?))
            }
            RedisTarget::Cluster(urls) => Connection::Cluster(ClusterHandle {
                client: Arc::new(cluster_client(settings, urls, 1, settings.redis_timeout)?),
                urls: urls.as_slice().into(),
                conn: Arc::default(),
            }),
        })
    }

    /// The replica acknowledgements of account changes (`REDIS_MIN_REPLICA_ACKS`), on a pool
    /// of connections of their own to the same Redis; `None` when none are asked for.
    pub(super) fn acks(&self, settings: &Settings) -> RedisResult<Option<Acks>> {
        if settings.redis_min_replica_acks == 0 {
            return Ok(None);
        }
        // No response timeout of the connections' own that a WAIT could run into: a WAIT
        // takes up to the request's whole deadline, which bounds every call of the pool
        // already (`Store::bounded`).
        let unbounded = settings.redis_timeout * 4;
        let target = match self {
            Connection::Single { client, .. } => Target::Single(client.clone()),
            Connection::Sentinel(sentinel) => Target::Sentinel(sentinel.clone()),
            Connection::Cluster(handle) => Target::Cluster(Arc::new(cluster_client(
                settings,
                &handle.urls,
                0,
                unbounded,
            )?)),
        };
        let config = connection_config(settings).set_response_timeout(None);
        Ok(Some(Acks::new(
            target,
            config,
            settings.redis_min_replica_acks,
            settings.redis_ack_connections,
        )))
    }

    /// A connection ready for one call, and the watch to tell how the call ended.
    pub(super) async fn active(&self) -> RedisResult<(Active, Watch)> {
        Ok(match self {
            Connection::Single { conn, .. } => (Active::Single(conn.clone()), Watch(None)),
            Connection::Cluster(handle) => (Active::Cluster(handle.get().await?), Watch(None)),
            Connection::Sentinel(sentinel) => {
                let primary = sentinel.get().await?;
                let conn = primary.conn.clone();
                (
                    Active::Sentinel(conn),
                    Watch(Some((sentinel.clone(), primary))),
                )
            }
        })
    }

    /// Which node this instance uses.
    pub(super) fn node(&self) -> Node {
        match self {
            Connection::Single { address, .. } => Node {
                mode: "single",
                address: Some(address.clone()),
            },
            Connection::Cluster(_) => Node {
                mode: "cluster",
                address: None,
            },
            Connection::Sentinel(primary) => Node {
                mode: "sentinel",
                address: primary.address(),
            },
        }
    }
}

/// Reports how a call on the Sentinels' primary ended, so a connection that no longer
/// reaches it is dropped. A watch dropped without [`Watch::done`] is a call cut off by the
/// caller's deadline: it counts as a timeout. Nothing to report for the other modes, whose
/// clients reconnect by themselves.
#[must_use]
pub(super) struct Watch(Option<(Arc<SentinelPrimary>, Arc<Primary>)>);

impl Watch {
    pub(super) fn done(mut self, error: Option<&redis::RedisError>) {
        if let Some((sentinel, primary)) = self.0.take() {
            sentinel.report(&primary, error.map_or(Outcome::Done, Outcome::Failed));
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Some((sentinel, primary)) = self.0.take() {
            sentinel.report(&primary, Outcome::TimedOut);
        }
    }
}
