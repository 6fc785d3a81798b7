//! Redis with replicas, owned by one test: a Sentinel group (a primary, replicas, three
//! Sentinels) or a cluster whose primaries have replicas, as `redis-server` processes
//! started by `tools/localstack`. Tests kill primaries, pause replicas and bring killed
//! nodes back.

use std::sync::{Arc, Mutex};

use localstack::{ClusterSpec, RedisCluster, SentinelGroup, SentinelSpec, sentinel::MASTER_NAME};

use super::{TestConfig, redis::blocking};

/// A Sentinel group owned by one test.
#[derive(Clone)]
pub struct Sentinels {
    group: Arc<Mutex<SentinelGroup>>,
}

impl Sentinels {
    /// A primary with `replicas` replicas, three Sentinels, and `password` on all of them.
    pub async fn start(replicas: usize, password: Option<&str>) -> Self {
        let mut spec = SentinelSpec::new(replicas);
        spec.password = password.map(str::to_owned);
        Self::start_spec(spec).await
    }

    /// A group as `spec` describes it (a lagging replication link, for one).
    pub async fn start_spec(spec: SentinelSpec) -> Self {
        let group = blocking(move || SentinelGroup::start(&spec))
            .await
            .unwrap_or_else(|e| panic!("a Sentinel group: {e}"));
        Self {
            group: Arc::new(Mutex::new(group)),
        }
    }

    /// Settings that point an instance at the Sentinels.
    pub fn config(&self) -> TestConfig {
        let urls = self.group.lock().unwrap().sentinel_urls().join(",");
        TestConfig::new("redis://127.0.0.1:1")
            .set("REDIS_SENTINEL_URLS", &urls)
            .set("REDIS_SENTINEL_MASTER", MASTER_NAME)
    }

    /// Settings that point an instance at the primary directly (`REDIS_URL`).
    pub fn primary_config(&self) -> TestConfig {
        TestConfig::new(&self.primary_url())
    }

    /// `redis://` URL of the current primary.
    pub fn primary_url(&self) -> String {
        let group = self.group.lock().unwrap();
        let port = group.primary_port().expect("a Sentinel names the primary");
        let primary = group.servers().iter().find(|s| s.port() == port);
        primary.expect("the primary is ours").url()
    }

    /// `redis://` URL of server `index` (0: the first primary).
    pub fn server_url(&self, index: usize) -> String {
        self.group.lock().unwrap().servers()[index].url()
    }

    pub fn primary_port(&self) -> u16 {
        self.group.lock().unwrap().primary_port().unwrap()
    }

    /// Freezes server `index` (SIGSTOP): its connections stay open, it answers nothing.
    pub async fn pause(&self, index: usize) {
        let group = self.group.clone();
        blocking(move || group.lock().unwrap().servers_mut()[index].pause())
            .await
            .expect("pause");
    }

    pub async fn resume(&self, index: usize) {
        let group = self.group.clone();
        blocking(move || group.lock().unwrap().servers_mut()[index].resume())
            .await
            .expect("resume");
    }

    /// Kills the primary (SIGKILL); returns its index.
    pub async fn kill_primary(&self) -> usize {
        let group = self.group.clone();
        blocking(move || group.lock().unwrap().kill_primary())
            .await
            .expect("kill the primary")
    }

    /// Waits until the Sentinels name a primary other than the one on `old_port`.
    pub async fn wait_for_failover(&self, old_port: u16) -> u16 {
        let group = self.group.clone();
        blocking(move || group.lock().unwrap().wait_for_failover(old_port))
            .await
            .expect("a failover")
    }

    /// Starts killed server `index` again as a replica of the current primary.
    pub async fn rejoin(&self, index: usize) {
        let group = self.group.clone();
        blocking(move || group.lock().unwrap().rejoin(index))
            .await
            .expect("rejoin");
    }
}

/// A Redis Cluster with replicas, owned by one test.
#[derive(Clone)]
pub struct Cluster {
    cluster: Arc<Mutex<RedisCluster>>,
}

impl Cluster {
    pub async fn start(primaries: usize, replicas: usize) -> Self {
        let spec = ClusterSpec::new(primaries, replicas);
        let cluster = blocking(move || RedisCluster::start(&spec))
            .await
            .unwrap_or_else(|e| panic!("a Redis Cluster: {e}"));
        Self {
            cluster: Arc::new(Mutex::new(cluster)),
        }
    }

    /// Settings that point an instance at the cluster (every node a seed).
    pub fn config(&self) -> TestConfig {
        let urls = self.cluster.lock().unwrap().urls();
        TestConfig::new(&urls[0]).set("REDIS_CLUSTER_URLS", &urls.join(","))
    }

    /// Kills the `n`-th primary (SIGKILL); returns its index among the nodes.
    pub async fn kill_primary(&self, n: usize) -> usize {
        let cluster = self.cluster.clone();
        blocking(move || cluster.lock().unwrap().kill_primary(n))
            .await
            .expect("kill a primary")
    }

    /// Waits until a replica has taken over the slots of node `killed`.
    pub async fn wait_for_failover(&self, killed: usize) {
        let cluster = self.cluster.clone();
        blocking(move || cluster.lock().unwrap().wait_for_failover(killed))
            .await
            .expect("a failover");
    }

    /// Starts killed node `index` again; it joins as a replica.
    pub async fn rejoin(&self, index: usize) {
        let cluster = self.cluster.clone();
        blocking(move || cluster.lock().unwrap().rejoin(index))
            .await
            .expect("rejoin");
    }
}
