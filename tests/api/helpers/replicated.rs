//! Redis with replicas, owned by one test: a Sentinel group (a primary, replicas, three
//! Sentinels) as `redis-server` processes started by `tools/localstack`. Tests kill the
//! primary and pause replicas.

use std::sync::{Arc, Mutex};

use localstack::{SentinelGroup, SentinelSpec, sentinel::MASTER_NAME};

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
}
