//! The connection to Redis: one multiplexed connection per instance (a single server) or a
//! cluster client, made lazily so the service starts — and answers `/health` — while Redis
//! is still down. `docs/REDIS.md` explains why this beats a pool here, with the measurement.

use std::{sync::Arc, time::Duration};

use redis::{
    Cmd, Pipeline, RedisFuture, Value,
    aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig},
    cluster::ClusterClient,
    cluster_async::ClusterConnection,
};
use tokio::sync::Mutex;

use crate::config::{RedisTarget, Settings};

/// The connection to one server or to a cluster.
#[derive(Clone)]
pub(super) enum Connection {
    Single(ConnectionManager),
    Cluster(ClusterHandle),
}

/// A cluster connection made on first use (so startup does not need the cluster), then
/// shared; the cluster client refreshes its slot map and reconnects nodes by itself.
#[derive(Clone)]
pub(super) struct ClusterHandle {
    client: Arc<ClusterClient>,
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
}

impl ConnectionLike for Active {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Active::Single(c) => c.req_packed_command(cmd),
            Active::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Active::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Active::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Active::Single(c) => c.get_db(),
            Active::Cluster(c) => c.get_db(),
        }
    }
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

impl Connection {
    /// Prepares the connection without touching the network.
    pub(super) fn new(settings: &Settings) -> redis::RedisResult<Self> {
        // rustls needs a process-wide crypto provider for rediss:// URLs; a second call
        // (several instances in one test process) finds it installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        Ok(match &settings.redis {
            RedisTarget::Single(url) => {
                let client = match tls_roots(settings) {
                    Some(certs) => redis::Client::build_with_tls(url.as_str(), certs)?,
                    None => redis::Client::open(url.as_str())?,
                };
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(settings.redis_timeout))
                    .set_response_timeout(Some(settings.redis_timeout))
                    // Reconnect attempts happen in the background; a request never waits
                    // for more than one attempt, and our own timeout bounds it anyway.
                    .set_number_of_retries(1)
                    .set_min_delay(Duration::from_millis(50))
                    .set_max_delay(Duration::from_secs(1));
                Connection::Single(ConnectionManager::new_lazy_with_config(client, config)?)
            }
            RedisTarget::Cluster(urls) => {
                let mut builder = ClusterClient::builder(urls.iter().map(String::as_str))
                    .connection_timeout(settings.redis_timeout)
                    .response_timeout(settings.redis_timeout)
                    .retries(1);
                if let Some(certs) = tls_roots(settings) {
                    builder = builder.certs(certs);
                }
                Connection::Cluster(ClusterHandle {
                    client: Arc::new(builder.build()?),
                    conn: Arc::default(),
                })
            }
        })
    }

    /// A connection ready for one call.
    pub(super) async fn active(&self) -> redis::RedisResult<Active> {
        Ok(match self {
            Connection::Single(conn) => Active::Single(conn.clone()),
            Connection::Cluster(handle) => Active::Cluster(handle.get().await?),
        })
    }
}
