//! Account changes confirmed by replicas before a client hears of them
//! (`REDIS_MIN_REPLICA_ACKS`).
//!
//! Redis replicates asynchronously: a primary that dies just after answering takes with it
//! whatever its replicas had not yet received, and the replica promoted in its place lacks
//! it. `WAIT n timeout` blocks the connection that sends it until `n` replicas have
//! acknowledged every write *that connection* made (the offset is kept per client), so a
//! script and its `WAIT` must share one connection — and on the instance's one multiplexed
//! connection every other request would queue behind the `WAIT`: a replica that lags would
//! stall reads, rate limits and `/ready` for the request's whole deadline.
//!
//! So when acknowledgements are asked for, the scripts that change an account run on a
//! connection of a small pool of their own, each checked out by one call at a time, and are
//! followed by `WAIT` on that connection when the script reports that it changed something.
//! The wait is bounded by what is left of the request's Redis deadline; replicas that do not
//! confirm in time make the call fail with [`StoreError::Unconfirmed`] (a 503: the change is
//! on the primary, and a retry with the same idempotency key replays it once confirmed).
//!
//! The pool is deadpool's, with a manager of our own rather than deadpool-redis's: theirs
//! sends a `PING` on every checkout (a round trip per request), and their Sentinel manager
//! keeps connections to a primary that has been demoted. Ours checks nothing on checkout; a
//! connection that failed or was cut off mid-call is dropped instead of returned, and in
//! Sentinel mode a connection to an older primary is dropped when checked out.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use deadpool::managed::{self, Metrics, Object, Pool, RecycleError, RecycleResult};
use redis::{
    AsyncConnectionConfig, Cmd, RedisError, RedisResult, Value,
    aio::MultiplexedConnection,
    cluster::ClusterClient,
    cluster_async::ClusterConnection,
    cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, Slot, SlotAddr},
};

use super::{StoreError, invoke, scripts::Call, sentinel::SentinelPrimary};

/// Where the pool's connections go.
pub(super) enum Target {
    Single(Arc<redis::Client>),
    Sentinel(Arc<SentinelPrimary>),
    /// A client that does not re-send a command after a reconnect: a `WAIT` re-sent to
    /// another node would count that node's replicas, not the ones that matter.
    Cluster(Arc<ClusterClient>),
}

/// One connection of the pool.
pub(super) enum AckConnection {
    /// To a server, or to the primary of a Sentinel generation.
    Node {
        conn: MultiplexedConnection,
        generation: Option<u64>,
    },
    Cluster(ClusterConnection),
}

crate::delegate_connection_like!(AckConnection, conn in Self::Node { conn, .. }, Self::Cluster(conn));

pub(super) struct Manager {
    target: Target,
    config: AsyncConnectionConfig,
}

impl managed::Manager for Manager {
    type Type = AckConnection;
    type Error = RedisError;

    async fn create(&self) -> RedisResult<AckConnection> {
        Ok(match &self.target {
            Target::Single(client) => AckConnection::Node {
                conn: client
                    .get_multiplexed_async_connection_with_config(&self.config)
                    .await?,
                generation: None,
            },
            Target::Sentinel(sentinel) => {
                let primary = sentinel.get().await?;
                AckConnection::Node {
                    conn: primary
                        .client
                        .get_multiplexed_async_connection_with_config(&self.config)
                        .await?,
                    generation: Some(primary.generation),
                }
            }
            Target::Cluster(client) => AckConnection::Cluster(client.get_async_connection().await?),
        })
    }

    /// No round trip: a broken connection never comes back to the pool (see [`Lease`]); only
    /// a connection to a primary the Sentinels no longer name is refused here.
    async fn recycle(&self, conn: &mut AckConnection, _: &Metrics) -> RecycleResult<RedisError> {
        match (conn, &self.target) {
            (
                AckConnection::Node {
                    generation: Some(g),
                    ..
                },
                Target::Sentinel(sentinel),
            ) if *g != sentinel.generation() => {
                Err(RecycleError::message("the Sentinels name another primary"))
            }
            _ => Ok(()),
        }
    }
}

/// Replica acknowledgements of account changes, and the pool their calls run on.
pub(super) struct Acks {
    /// Replicas that must confirm (`REDIS_MIN_REPLICA_ACKS`, at least 1 here).
    pub replicas: u32,
    pool: Pool<Manager>,
}

/// A connection checked out for one call: returned to the pool when the call completed,
/// dropped when it failed or was cut off (a `WAIT` may still be blocking it).
struct Lease<'a> {
    object: Option<Object<Manager>>,
    completed: bool,
    target: &'a Target,
}

impl Lease<'_> {
    fn conn(&mut self) -> &mut AckConnection {
        self.object.as_mut().expect("a lease holds its connection")
    }

    /// The call failed with `err`: in Sentinel mode, tell whether the primary is gone.
    fn failed(&mut self, err: &RedisError) {
        if let (
            Target::Sentinel(sentinel),
            AckConnection::Node {
                generation: Some(g),
                ..
            },
        ) = (self.target, self.conn())
        {
            sentinel.report_failure(*g, err);
        }
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(object) = self.object.take()
            && !self.completed
        {
            drop(Object::take(object));
        }
    }
}

/// Time kept back from the `WAIT`'s own timeout, so that it usually answers before the
/// request's deadline.
const WAIT_MARGIN: Duration = Duration::from_millis(10);

impl Acks {
    pub fn new(
        target: Target,
        config: AsyncConnectionConfig,
        replicas: u32,
        connections: usize,
    ) -> Self {
        let pool = Pool::builder(Manager { target, config })
            .max_size(connections)
            .build()
            .expect("a pool without timeouts needs no runtime to build");
        Self { replicas, pool }
    }

    /// Runs `call` on a connection of the pool; when `decode` says the script changed
    /// something, waits (on the same connection) until `self.replicas` replicas confirm it
    /// or `deadline` comes. The caller bounds the whole call by the same deadline.
    pub async fn run<T>(
        &self,
        call: &Call,
        deadline: Instant,
        decode: impl FnOnce(Value) -> Result<(T, bool), StoreError>,
    ) -> Result<T, StoreError> {
        let object = self.pool.get().await.map_err(|err| match err {
            managed::PoolError::Backend(err) => StoreError::Redis(err),
            other => StoreError::Redis(RedisError::from((
                redis::ErrorKind::Io,
                "replica acknowledgement pool",
                other.to_string(),
            ))),
        })?;
        let mut lease = Lease {
            object: Some(object),
            completed: false,
            target: &self.pool.manager().target,
        };
        let started = Instant::now();
        let value = match invoke(call, lease.conn()).await {
            Ok(value) => value,
            Err(err) => {
                lease.failed(&err);
                return Err(err.into());
            }
        };
        crate::metrics::record_script(call.spec.name, started.elapsed());
        let (out, changed) = decode(value)?;
        if !changed {
            lease.completed = true;
            return Ok(out);
        }
        let waited = Instant::now();
        let left = deadline.saturating_duration_since(waited);
        let wait_ms = left.saturating_sub(WAIT_MARGIN).as_millis().max(1) as u64;
        let mut wait = redis::cmd("WAIT");
        wait.arg(self.replicas).arg(wait_ms);
        // Redis ends a blocked WAIT on its own clock, up to a server tick late: past the
        // deadline, no answer counts as no acknowledgement (and the connection, still
        // blocked, is dropped).
        let acknowledged = match tokio::time::timeout(left, lease.wait(&wait, call)).await {
            Ok(Ok(acknowledged)) => {
                lease.completed = true;
                acknowledged
            }
            Ok(Err(err)) => {
                lease.failed(&err);
                return Err(err.into());
            }
            Err(_) => 0,
        };
        crate::metrics::record_replica_wait(waited.elapsed());
        if acknowledged < u64::from(self.replicas) {
            crate::metrics::record_unconfirmed();
            return Err(StoreError::Unconfirmed {
                wanted: self.replicas,
                acknowledged,
            });
        }
        Ok(out)
    }
}

impl Lease<'_> {
    /// `WAIT` on this connection; on a cluster, sent to the node of the script's first key.
    async fn wait(&mut self, wait: &Cmd, call: &Call) -> RedisResult<u64> {
        match self.conn() {
            AckConnection::Node { conn, .. } => wait.query_async(conn).await,
            AckConnection::Cluster(conn) => {
                let key = call.first_key.as_deref().unwrap_or_default();
                let route = Route::with_slot(Slot::for_key(key), SlotAddr::Master);
                let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(route));
                let reply = conn.route_command(wait.clone(), routing).await?;
                Ok(redis::from_redis_value(reply)?)
            }
        }
    }
}
