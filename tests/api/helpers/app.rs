//! Test harness: real application instances on port 0 against a real Redis.
//!
//! - [`spawn_app`] starts one instance with its own key prefix (tests never see each
//!   other's data); [`TestApp::sibling`] starts another instance on the same Redis and prefix,
//!   which is how tests prove that several instances behave like one.
//! - Redis is `TEST_REDIS_URL` when set; otherwise a testcontainers Redis (image from
//!   `TEST_REDIS_IMAGE`, default `redis:7.0`) that is started once and reused across runs.
//!   With `TEST_REDIS_CLUSTER_URLS` (comma-separated nodes) the instances use that Redis
//!   Cluster instead (`scripts/cluster-test` runs the cluster subset).
//! - [`OwnedRedis`] is a private Redis container a fault test may stop and start again.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        OnceLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use reqwest::{Client, Response};
use serde_json::Value;
use testcontainers::{ImageExt, ReuseDirective};
use testcontainers_modules::{
    redis::{REDIS_PORT, Redis},
    testcontainers::{ContainerAsync, core::IntoContainerPort, runners::AsyncRunner},
};
use tokio::sync::oneshot;
use trickster_oracle::{config::Settings, startup::Application};

/// Name and tag of the Redis image, overridable for other registries or versions.
fn redis_image() -> (String, String) {
    let image = std::env::var("TEST_REDIS_IMAGE").unwrap_or_else(|_| "redis:7.0".into());
    match image.rsplit_once(':') {
        Some((name, tag)) => (name.to_owned(), tag.to_owned()),
        None => (image, "latest".into()),
    }
}

fn redis_container() -> testcontainers::ContainerRequest<Redis> {
    let (name, tag) = redis_image();
    Redis::default().with_name(name).with_tag(tag)
}

/// The Redis every ordinary test shares (isolated by key prefix).
pub fn shared_redis_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Some(first) = cluster_urls().and_then(|urls| urls.split(',').next().map(str::to_owned)) {
            return first;
        }
        if let Ok(url) = std::env::var("TEST_REDIS_URL") {
            return url;
        }
        // Started on a thread with its own runtime: each test has its own runtime, and the
        // container must outlive all of them. Reuse keeps one container across test runs.
        std::thread::spawn(|| {
            tokio::runtime::Runtime::new()
                .expect("runtime")
                .block_on(async {
                    let container = redis_container()
                        .with_container_name("trickster-oracle-test-redis")
                        .with_reuse(ReuseDirective::Always)
                        .start()
                        .await
                        .expect("start the Redis test container (is the image built? scripts/build-images.sh)");
                    let port = container
                        .get_host_port_ipv4(REDIS_PORT.tcp())
                        .await
                        .expect("mapped Redis port");
                    format!("redis://127.0.0.1:{port}")
                })
        })
        .join()
        .expect("Redis container thread")
    })
    .clone()
}

fn cluster_urls() -> Option<String> {
    std::env::var("TEST_REDIS_CLUSTER_URLS")
        .ok()
        .filter(|v| !v.trim().is_empty())
}

/// A Redis container owned by one test, with a fixed host port so that it keeps its
/// address across `stop` and `start`.
pub struct OwnedRedis {
    container: ContainerAsync<Redis>,
    pub url: String,
}

impl OwnedRedis {
    pub async fn start() -> Self {
        Self::start_with(redis_container()).await
    }

    /// With the append-only file on (every write fsynced), so a stop loses nothing.
    pub async fn start_persistent() -> Self {
        Self::start_with(redis_container().with_cmd([
            "redis-server",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--protected-mode",
            "no",
        ]))
        .await
    }

    /// With `requirepass`: clients must authenticate (`redis://:<password>@…`).
    pub async fn start_with_password(password: &str) -> Self {
        let mut owned = Self::start_with(redis_container().with_cmd([
            "redis-server",
            "--requirepass",
            password,
            "--protected-mode",
            "no",
        ]))
        .await;
        owned.url = owned
            .url
            .replacen("redis://", &format!("redis://:{password}@"), 1);
        owned
    }

    /// Serving TLS only, with a certificate for 127.0.0.1 signed by a CA made for this test.
    /// Returns the Redis and the path of the CA certificate (PEM).
    pub async fn start_tls() -> (Self, std::path::PathBuf) {
        let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("tls-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("tls dir");
        let openssl = |args: &[&str]| {
            let status = std::process::Command::new("openssl")
                .args(args)
                .current_dir(&dir)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .expect("openssl runs");
            assert!(status.success(), "openssl {args:?}");
        };
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=trickster-test-ca",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
        ]);
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ]);
        std::fs::write(
            dir.join("server.ext"),
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
             keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
        )
        .expect("extensions file");
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.crt",
        ]);
        // Redis runs as an unprivileged user inside the container.
        for file in ["server.key", "server.crt", "ca.crt"] {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.join(file), std::fs::Permissions::from_mode(0o644))
                .expect("chmod");
        }
        let mut owned = Self::start_with(
            redis_container()
                .with_mount(testcontainers::core::Mount::bind_mount(
                    dir.to_string_lossy().to_string(),
                    "/tls",
                ))
                .with_cmd([
                    "redis-server",
                    "--port",
                    "0",
                    "--tls-port",
                    "6379",
                    "--tls-cert-file",
                    "/tls/server.crt",
                    "--tls-key-file",
                    "/tls/server.key",
                    "--tls-ca-cert-file",
                    "/tls/ca.crt",
                    "--tls-auth-clients",
                    "no",
                    "--protected-mode",
                    "no",
                ]),
        )
        .await;
        owned.url = owned.url.replacen("redis://", "rediss://", 1);
        (owned, dir.join("ca.crt"))
    }

    async fn start_with(request: testcontainers::ContainerRequest<Redis>) -> Self {
        let port = free_port();
        let container = request
            .with_mapped_port(port, REDIS_PORT.tcp())
            .start()
            .await
            .expect("start a private Redis container");
        Self {
            container,
            url: format!("redis://127.0.0.1:{port}"),
        }
    }

    /// Stops Redis (the process exits; clients see refused connections).
    pub async fn stop(&self) {
        self.container.stop().await.expect("stop Redis");
    }

    /// Starts the same container again, on the same port, with its data.
    pub async fn resume(&self) {
        self.container.start().await.expect("start Redis again");
        let client = redis::Client::open(self.url.as_str()).expect("url");
        for _ in 0..100 {
            if let Ok(mut conn) = client.get_multiplexed_async_connection().await {
                let pong: redis::RedisResult<String> =
                    redis::cmd("PING").query_async(&mut conn).await;
                if pong.is_ok() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("Redis did not come back");
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

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
    pub redis: redis::Client,
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
    let redis_url = match &settings.redis {
        trickster_oracle::config::RedisTarget::Single(url) => url.clone(),
        trickster_oracle::config::RedisTarget::Cluster(urls) => urls[0].clone(),
    };
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
        client: Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("http client"),
        config,
        redis: redis::Client::open(redis_url).expect("redis url"),
        shutdown: Some(tx),
        server: Some(server),
    }
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
    pub async fn redis_conn(&self) -> redis::aio::MultiplexedConnection {
        self.redis
            .get_multiplexed_async_connection()
            .await
            .expect("redis connection")
    }

    /// Sends the shutdown signal without waiting for the drain to finish.
    pub fn signal_shutdown(&mut self) -> tokio::task::JoinHandle<std::io::Result<()>> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.server.take().expect("server still running")
    }
}

/// Reads a JSON body, failing the test with the raw text when it is not JSON.
pub async fn json_body(response: Response) -> Value {
    let text = response.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("body is not JSON: {text}"))
}

/// Asserts the RFC 9457 shape and returns the body.
pub async fn assert_problem(response: Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "status");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("application/problem+json"),
        "content type {content_type}"
    );
    let header_id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("x-request-id header")
        .to_owned();
    let body = json_body(response).await;
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["request_id"], header_id.as_str(), "{body}");
    for field in ["type", "title", "detail", "instance"] {
        assert!(body[field].is_string(), "{field} missing in {body}");
    }
    body
}

/// When a test signals shutdown after starting [`slow_simulation_body`]: the head and the
/// first part have long arrived, the rest of the body is still to come.
pub const SLOW_BODY_SIGNAL_AFTER: Duration = Duration::from_millis(300);

/// A simulation request body sent in two parts 900 ms apart, so the request is certainly in
/// flight when a test signals shutdown [`SLOW_BODY_SIGNAL_AFTER`] after sending it.
pub fn slow_simulation_body() -> reqwest::Body {
    let parts = [
        r#"{ "event_id": "demo_002", "#,
        r#""iterations": 1000000, "seed": 9 }"#,
    ];
    let stream = futures_util::stream::unfold(0, move |i| async move {
        if i == 1 {
            tokio::time::sleep(Duration::from_millis(900)).await;
        }
        parts
            .get(i)
            .map(|p| (Ok::<_, std::io::Error>(p.as_bytes().to_vec()), i + 1))
    });
    reqwest::Body::wrap_stream(stream)
}
