//! Instances under test: in-process on port 0 ([`spawn_app`]), each with its own key prefix
//! so tests never see each other's data; or the binary as a process of its own
//! ([`spawn_process`], through `tools/localstack`) when a test needs one: signals, or a
//! metrics recorder no other test writes to.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use reqwest::{Client, Response};
use serde_json::Value;
use tokio::sync::oneshot;
use trickster_oracle::{config::Settings, startup::Application};

use super::redis::{RedisConn, cluster_urls, redis_connection, shared_redis_url};

/// A unique key prefix per test so tests can share one Redis.
fn unique_prefix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "t{}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        uuid::Uuid::new_v4().simple()
    )
    .chars()
    .take(32)
    .collect()
}

/// Configuration of a test instance, as environment variables.
#[derive(Clone)]
pub struct TestConfig {
    pub vars: HashMap<String, String>,
}

impl TestConfig {
    pub fn new(redis_url: &str) -> Self {
        let mut vars = HashMap::new();
        for (key, value) in [
            ("ENV", "test"),
            ("HOST", "127.0.0.1"),
            ("PORT", "0"),
            ("REDIS_URL", redis_url),
            ("REDIS_KEY_PREFIX", &unique_prefix()),
            ("LOG_LEVEL", "error"),
            ("SHUTDOWN_GRACE_SECONDS", "5"),
        ] {
            vars.insert(key.to_owned(), value.to_owned());
        }
        if let Some(urls) = cluster_urls().filter(|_| redis_url == shared_redis_url()) {
            vars.insert("REDIS_CLUSTER_URLS".to_owned(), urls);
        }
        Self { vars }
    }

    pub fn set(mut self, key: &str, value: &str) -> Self {
        self.vars.insert(key.to_owned(), value.to_owned());
        self
    }
}

/// A running instance and a client for it.
pub struct TestApp {
    pub address: SocketAddr,
    pub client: Client,
    pub config: TestConfig,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// One instance on the shared Redis with default settings.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(TestConfig::new(&shared_redis_url())).await
}

/// One instance with the given settings.
pub async fn spawn_app_with(config: TestConfig) -> TestApp {
    let settings = Settings::from_map(&config.vars).expect("valid test settings");
    trickster_oracle::telemetry::init(&settings);
    let app = Application::build(settings)
        .await
        .expect("application builds");
    let address = app.address();
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = rx.await;
    }));
    TestApp {
        address,
        client: test_client(),
        config,
        shutdown: Some(tx),
        server: Some(server),
    }
}

/// The binary as a process with `config`'s settings (its host and port are chosen by the
/// tool), ready once `/ready` answers 200. Stopped (SIGTERM) when dropped.
pub async fn spawn_process(config: &TestConfig) -> localstack::Service {
    let spec = localstack::ServiceSpec::new(env!("CARGO_BIN_EXE_trickster-oracle")).envs(
        config
            .vars
            .iter()
            .filter(|(key, _)| !matches!(key.as_str(), "HOST" | "PORT")),
    );
    tokio::task::spawn_blocking(move || localstack::Service::start(&spec))
        .await
        .expect("blocking task")
        .unwrap_or_else(|e| panic!("the service as a process: {e}"))
}

fn test_client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("http client")
}

impl TestApp {
    /// Another instance sharing this one's Redis, prefix and settings.
    pub async fn sibling(&self) -> TestApp {
        spawn_app_with(self.config.clone()).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// A direct Redis connection, for arranging and inspecting state.
    pub async fn redis_conn(&self) -> RedisConn {
        redis_connection(&self.config).await
    }

    /// Sends the shutdown signal without waiting for the drain to finish.
    pub fn signal_shutdown(&mut self) -> tokio::task::JoinHandle<std::io::Result<()>> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.server.take().expect("server still running")
    }
}
