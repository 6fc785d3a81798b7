//! The Redis the tests use, all started through `tools/localstack`:
//!
//! - the shared one every ordinary test uses (isolated by key prefix): the cluster in
//!   `TEST_REDIS_CLUSTER_URLS` (comma-separated nodes; `scripts/cluster-test` starts one),
//!   else `TEST_REDIS_URL`, else the container `trickster-oracle-test-redis` of the project's
//!   Redis image (`TRICKSTER_IMAGE_PREFIX` + `redis:7.0`), created when missing and reused
//!   across runs;
//! - [`OwnedRedis`]: a private Redis container one test owns and may stop and restart;
//! - [`RedisConn`]: a direct connection for arranging and inspecting state, on a single node
//!   or on the cluster alike.

use std::{
    path::PathBuf,
    sync::{Arc, Mutex, OnceLock},
};

use localstack::{NamedContainer, Redis, RedisSpec, images};
use redis::{aio::MultiplexedConnection, cluster_async::ClusterConnection};

use super::TestConfig;

/// The long-lived container of the shared Redis (remove it with `docker rm -f`).
const SHARED_CONTAINER: &str = "trickster-oracle-test-redis";

/// The Redis every ordinary test shares (the first node when it is a cluster).
pub fn shared_redis_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Some(first) =
            cluster_urls().and_then(|urls| urls.split(',').next().map(str::to_owned))
        {
            return first;
        }
        if let Ok(url) = std::env::var("TEST_REDIS_URL") {
            return url;
        }
        let port = NamedContainer::new(SHARED_CONTAINER, &images::redis())
            .ensure()
            .unwrap_or_else(|e| panic!("the shared Redis container: {e}"));
        format!("redis://127.0.0.1:{port}")
    })
    .clone()
}

/// `TEST_REDIS_CLUSTER_URLS`, when the shared Redis is a cluster.
pub(super) fn cluster_urls() -> Option<String> {
    std::env::var("TEST_REDIS_CLUSTER_URLS")
        .ok()
        .filter(|v| !v.trim().is_empty())
}

/// A direct connection to the Redis of `config` (its cluster, when it has one).
pub async fn redis_connection(config: &TestConfig) -> RedisConn {
    if let Some(urls) = config.vars.get("REDIS_CLUSTER_URLS") {
        let client = redis::cluster::ClusterClient::new(urls.split(',').collect::<Vec<_>>())
            .expect("cluster urls");
        return RedisConn::Cluster(
            client
                .get_async_connection()
                .await
                .expect("cluster connection"),
        );
    }
    let client = redis::Client::open(config.vars["REDIS_URL"].as_str()).expect("redis url");
    RedisConn::Single(
        client
            .get_multiplexed_async_connection()
            .await
            .expect("redis connection"),
    )
}

/// A connection to a single node or to a cluster; commands are routed like the service's
/// (by key on a cluster; `SCRIPT FLUSH` reaches every node).
pub enum RedisConn {
    Single(MultiplexedConnection),
    Cluster(ClusterConnection),
}

trickster_oracle::delegate_connection_like!(RedisConn, c in RedisConn::Single(c), RedisConn::Cluster(c));

/// A Redis container owned by one test, on a fixed host port so that it keeps its address
/// across `stop` and `restart`. Removed when the test ends.
pub struct OwnedRedis {
    redis: Arc<Mutex<Redis>>,
    pub url: String,
}

impl OwnedRedis {
    pub async fn start() -> Self {
        Self::start_with(RedisSpec::new()).await
    }

    /// With the append-only file on (every write fsynced), so a stop loses nothing.
    pub async fn start_persistent() -> Self {
        Self::start_with(RedisSpec::new().append_only()).await
    }

    /// With `requirepass`: clients must authenticate (`redis://:<password>@…`).
    pub async fn start_with_password(password: &str) -> Self {
        Self::start_with(RedisSpec::new().password(password)).await
    }

    /// Serving TLS only, with a certificate for 127.0.0.1 signed by a CA made for this test.
    /// Returns the Redis and the path of the CA certificate (PEM).
    pub async fn start_tls() -> (Self, PathBuf) {
        let owned = Self::start_with(RedisSpec::new().tls()).await;
        let ca = owned
            .redis
            .lock()
            .unwrap()
            .ca_file()
            .expect("a TLS Redis has a CA")
            .to_path_buf();
        (owned, ca)
    }

    async fn start_with(spec: RedisSpec) -> Self {
        let redis = blocking(move || Redis::start_container(&spec, &images::redis()))
            .await
            .unwrap_or_else(|e| panic!("a private Redis container: {e}"));
        Self {
            url: redis.url(),
            redis: Arc::new(Mutex::new(redis)),
        }
    }

    /// Stops Redis (SIGTERM; the process exits; clients see refused connections).
    pub async fn stop(&self) {
        let redis = self.redis.clone();
        blocking(move || redis.lock().unwrap().stop())
            .await
            .expect("stop Redis");
    }

    /// Starts it again, on the same port, with its data; returns once it answers.
    pub async fn restart(&self) {
        let redis = self.redis.clone();
        blocking(move || redis.lock().unwrap().restart())
            .await
            .expect("restart Redis");
    }
}

/// Runs the tool's blocking calls off the test's runtime, so in-process instances of the
/// same test keep serving meanwhile.
pub(super) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("blocking task")
}
