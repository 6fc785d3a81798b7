//! The only code that talks to Redis.
//!
//! One multiplexed connection per instance, behind redis-rs's `ConnectionManager`: every
//! request shares it (Redis pipelines concurrent commands on one socket), it reconnects in the
//! background after a failure, and it is created lazily so the service starts — and answers
//! `/health` — while Redis is still down. `docs/REDIS.md` explains why this beats a pool
//! here, with the measurement. With `REDIS_CLUSTER_URLS` the same calls go through the
//! cluster client instead (EVALSHA is routed by its first key; every script's keys share a
//! slot), with no other change.
//!
//! Every call is bounded by `REDIS_TIMEOUT_MS` end to end (including a NOSCRIPT reload), so a
//! slow or absent Redis turns into a [`StoreError`] — a 503 for the client — and never a hang.

pub mod admission;
pub mod apikeys;
pub mod cache;
pub mod keys;
pub mod ledger;
mod reply;
pub mod scripts;

use std::time::{Duration, Instant};

use std::sync::Arc;

use redis::{
    Cmd, FromRedisValue, Pipeline, RedisFuture, ScriptInvocation, Value,
    aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig},
    cluster::ClusterClient,
    cluster_async::ClusterConnection,
};
use tokio::sync::Mutex;

use crate::config::{RedisTarget, Settings};
pub use keys::Keys;

/// Why a Redis call did not produce a usable answer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
    #[error("redis error: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("unexpected reply from script {script}: {detail}")]
    Protocol {
        script: &'static str,
        detail: String,
    },
}

impl StoreError {
    pub fn protocol(script: &'static str, detail: impl Into<String>) -> Self {
        Self::Protocol {
            script,
            detail: detail.into(),
        }
    }
}

/// Where a script takes "now" from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clock {
    /// Redis `TIME`: one clock for every instance (always, in the service).
    #[default]
    Redis,
    /// A fixed time in ms since the epoch, so tests can cross a day boundary or a lease
    /// without waiting.
    At(u64),
}

impl Clock {
    fn arg(self) -> String {
        match self {
            Clock::Redis => String::new(),
            Clock::At(ms) => ms.to_string(),
        }
    }
}

/// The connection to one server or to a cluster.
#[derive(Clone)]
enum Connection {
    Single(ConnectionManager),
    Cluster(ClusterHandle),
}

/// A cluster connection made on first use (so startup does not need the cluster), then
/// shared; the cluster client refreshes its slot map and reconnects nodes by itself.
#[derive(Clone)]
struct ClusterHandle {
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
enum Active {
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

/// Handle to the shared state. Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct Store {
    conn: Connection,
    keys: Keys,
    timeout: Duration,
}

impl Store {
    /// Prepares the connection without touching the network.
    pub fn new(settings: &Settings) -> Result<Self, StoreError> {
        // rustls needs a process-wide crypto provider for rediss:// URLs; a second call
        // (several instances in one test process) finds it installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let conn = match &settings.redis {
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
                let client = builder.build()?;
                Connection::Cluster(ClusterHandle {
                    client: Arc::new(client),
                    conn: Arc::default(),
                })
            }
        };
        Ok(Self {
            conn,
            keys: Keys::new(settings.redis_key_prefix.clone()),
            timeout: settings.redis_timeout,
        })
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// Round trip to Redis (`PING`), for readiness.
    pub async fn ping(&self) -> Result<Duration, StoreError> {
        let started = Instant::now();
        let _: String = self.command(&redis::cmd("PING")).await?;
        Ok(started.elapsed())
    }

    async fn active(&self) -> redis::RedisResult<Active> {
        Ok(match &self.conn {
            Connection::Single(conn) => Active::Single(conn.clone()),
            Connection::Cluster(handle) => Active::Cluster(handle.get().await?),
        })
    }

    /// Runs one command within the timeout.
    pub async fn command<T: FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, StoreError> {
        self.bounded("command", async move {
            let mut conn = self.active().await?;
            cmd.query_async(&mut conn).await
        })
        .await
    }

    /// Runs one script (EVALSHA, reloaded on NOSCRIPT) within the timeout.
    pub async fn script<T: FromRedisValue>(
        &self,
        name: &'static str,
        invocation: &ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        let started = Instant::now();
        let result = self
            .bounded(name, async move {
                let mut conn = self.active().await?;
                invocation.invoke_async(&mut conn).await
            })
            .await;
        crate::metrics::record_script(name, started.elapsed());
        result
    }

    async fn bounded<T>(
        &self,
        operation: &'static str,
        call: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, StoreError> {
        let outcome = match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(StoreError::Redis(err)),
            Err(_) => Err(StoreError::Timeout(self.timeout)),
        };
        if outcome.is_err() {
            crate::metrics::record_redis_error(operation);
        }
        outcome
    }
}
