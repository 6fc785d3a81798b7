//! Typed settings, read once at startup from the environment (and `.env` when present).
//!
//! Every variable is parsed and validated here, so the rest of the service works with
//! values that are already known to be sane. Bad values stop startup with one line per
//! variable, all of them at once ([`ConfigErrors`]); so do settings that contradict each
//! other and unsafe production settings (`checks`).

mod checks;
mod redis;
mod source;
#[cfg(test)]
mod tests;

use std::{collections::HashMap, net::IpAddr, time::Duration};

pub use redis::RedisTarget;
use source::Source;
pub use source::{ConfigError, ConfigErrors};

/// Deployment environment (`ENV`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Test,
    Staging,
    Production,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Development => "development",
            Self::Test => "test",
            Self::Staging => "staging",
            Self::Production => "production",
        }
    }
}

/// How callers of `/api/*` identify themselves (`AUTH_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// `X-Actor-ID` header (development and trusted networks).
    Header,
    /// `Authorization: Bearer <key>` with keys created through the admin API.
    ApiKey,
}

/// Access-log and diagnostics format (`LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

/// Limits of the HTTP edge: how long a client may take, and how much it may hold open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// HTTP/1 request head, including the wait for the next request on a kept-alive
    /// connection (`HTTP_HEADER_READ_TIMEOUT_MS`).
    pub header_read_timeout: Duration,
    /// Whole request body (`HTTP_BODY_READ_TIMEOUT_MS`).
    pub body_read_timeout: Duration,
    /// A connection on which no byte moves either way, any protocol (`HTTP_IDLE_TIMEOUT_MS`).
    pub idle_timeout: Duration,
    /// Open connections per instance (`HTTP_MAX_CONNECTIONS`); more wait in the backlog.
    pub max_connections: usize,
    /// Concurrent streams per HTTP/2 connection (`HTTP2_MAX_CONCURRENT_STREAMS`).
    pub http2_max_streams: u32,
    /// Requests handled at once (`MAX_REQUESTS_IN_FLIGHT`); more get a 503 `overloaded`.
    pub max_in_flight: usize,
}

/// Every setting of the service, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    pub environment: Environment,
    pub host: IpAddr,
    pub port: u16,
    pub redis: RedisTarget,
    /// Replicas that must confirm an account change before the client hears of it
    /// (`REDIS_MIN_REPLICA_ACKS`, 0 = none: Redis's asynchronous replication).
    pub redis_min_replica_acks: u32,
    /// Connections of the pool that runs account scripts and their `WAIT` when replicas must
    /// confirm (`REDIS_ACK_CONNECTIONS`).
    pub redis_ack_connections: usize,
    pub redis_key_prefix: String,
    pub redis_timeout: Duration,
    /// PEM certificate(s) of a private CA that signs the Redis server's TLS certificate
    /// (`REDIS_TLS_CA_FILE`); without it `rediss://` trusts the public web roots.
    pub redis_tls_ca: Option<Vec<u8>>,
    pub cors_origins: Vec<String>,
    pub build_commit: String,
    /// This instance's name in logs (`INSTANCE_NAME`, else the host name).
    pub instance: String,
    pub log_level: String,
    pub log_format: LogFormat,
    pub max_iterations: u32,
    pub max_body_bytes: usize,
    pub http: HttpLimits,
    /// Simulations waiting for an engine thread (`ENGINE_QUEUE_MAX`); more get a 503.
    pub engine_queue_max: usize,
    /// Bound on a simulation's work after admission (`REQUEST_TIMEOUT_MS`).
    pub request_timeout: Duration,
    pub daily_tokens: i64,
    pub simulation_cost: i64,
    pub rate_limit_per_minute: u32,
    pub rate_limit_burst: u32,
    pub cache_ttl_seconds: u64,
    pub cache_wait: Duration,
    /// Bytes of recent results each instance keeps in memory (`LOCAL_CACHE_BYTES`, 0 = none).
    pub local_cache_bytes: u64,
    pub idempotency_ttl_seconds: u64,
    pub idempotency_lease_seconds: u64,
    /// Live idempotency records one caller may hold (`IDEMPOTENCY_MAX_KEYS`).
    pub idempotency_max_keys: u32,
    pub hold_lease_seconds: u64,
    /// Header mode: how long an idle account that holds nothing beyond the daily allowance
    /// is kept (`IDLE_ACCOUNT_TTL_SECONDS`, 0 = forever). Always 0 in API-key mode.
    pub idle_account_ttl_seconds: u64,
    pub auth_mode: AuthMode,
    pub admin_token: Option<String>,
    pub allow_header_auth: bool,
    /// Proxies in front of the service whose `X-Forwarded-For` entries are trusted
    /// (`TRUSTED_PROXY_HOPS`; `TRUST_PROXY=true` means 1). 0: the socket peer.
    pub trusted_proxy_hops: usize,
    pub shutdown_grace: Duration,
    /// `/metrics` needs `Authorization: Bearer <METRICS_TOKEN>` when set (else 404).
    pub metrics_token: Option<String>,
}

fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

impl Settings {
    /// Reads `.env` (when present, without overriding the real environment), then the
    /// environment.
    pub fn from_env() -> Result<Self, ConfigErrors> {
        // A missing .env is the normal case in containers; a malformed one is worth failing on.
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(e) if e.not_found() => {}
            Err(e) => {
                return Err(ConfigErrors(vec![ConfigError {
                    variable: ".env",
                    reason: e.to_string(),
                }]));
            }
        }
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds settings from a map, for tests and tools.
    pub fn from_map(vars: &HashMap<String, String>) -> Result<Self, ConfigErrors> {
        Self::from_lookup(|name| vars.get(name).cloned())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigErrors> {
        let src = Source::new(lookup);
        let environment = src.choice(
            "ENV",
            Environment::Development,
            &[
                ("development", Environment::Development),
                ("dev", Environment::Development),
                ("test", Environment::Test),
                ("staging", Environment::Staging),
                ("production", Environment::Production),
                ("prod", Environment::Production),
            ],
        );
        let production = environment == Environment::Production;

        let host = src
            .string("HOST", "0.0.0.0")
            .parse::<IpAddr>()
            .unwrap_or_else(|_| {
                src.fail("HOST", "expected an IP address such as 0.0.0.0 or ::");
                IpAddr::from([0, 0, 0, 0])
            });
        let port = src.number("PORT", 8000u16, 0, u16::MAX);

        let redis = redis::read(&src);

        let redis_key_prefix = src.string("REDIS_KEY_PREFIX", "to");
        let prefix_ok = redis_key_prefix.len() <= 32
            && redis_key_prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !prefix_ok {
            src.fail(
                "REDIS_KEY_PREFIX",
                "expected 1-32 characters from A-Z a-z 0-9 . _ - (braces would break hash tags)",
            );
        }

        let redis_tls_ca = src.raw("REDIS_TLS_CA_FILE").and_then(|path| {
            let read = std::fs::read(&path)
                .map_err(|e| format!("cannot read {path:?}: {e}"))
                .and_then(|pem| {
                    if pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
                        Ok(pem)
                    } else {
                        Err(format!("{path:?} holds no PEM certificate"))
                    }
                });
            read.map_err(|reason| src.fail("REDIS_TLS_CA_FILE", reason))
                .ok()
        });

        let cors_origins: Vec<String> = src
            .string("CORS_ORIGINS", "")
            .split(',')
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        if let Some(bad) = cors_origins
            .iter()
            .find(|o| *o != "*" && !(o.starts_with("http://") || o.starts_with("https://")))
        {
            src.fail(
                "CORS_ORIGINS",
                format!("expected comma-separated origins like https://example.org, got {bad:?}"),
            );
        }

        let log_level = src.string("LOG_LEVEL", "info");
        if tracing_subscriber::EnvFilter::try_new(&log_level).is_err() {
            src.fail(
                "LOG_LEVEL",
                format!(
                    "expected a level (error, warn, info, debug, trace) or a filter directive, got {log_level:?}"
                ),
            );
        }

        let auth_mode = src.choice(
            "AUTH_MODE",
            if production {
                AuthMode::ApiKey
            } else {
                AuthMode::Header
            },
            &[("header", AuthMode::Header), ("api_key", AuthMode::ApiKey)],
        );
        let admin_token = src.raw("ADMIN_TOKEN");
        if admin_token.as_ref().is_some_and(|t| t.len() < 16) {
            src.fail(
                "ADMIN_TOKEN",
                "expected at least 16 characters (use a long random value)",
            );
        }

        let metrics_token = src.raw("METRICS_TOKEN");
        if metrics_token.as_ref().is_some_and(|t| t.len() < 16) {
            src.fail(
                "METRICS_TOKEN",
                "expected at least 16 characters (use a long random value)",
            );
        }

        let trust_proxy = src.boolean("TRUST_PROXY", false);
        let trusted_proxy_hops = match src.raw("TRUSTED_PROXY_HOPS") {
            None => usize::from(trust_proxy),
            Some(_) => {
                let hops = src.number("TRUSTED_PROXY_HOPS", 0usize, 0, 16);
                if trust_proxy && hops != 1 {
                    src.fail(
                        "TRUST_PROXY",
                        format!("true means TRUSTED_PROXY_HOPS=1, but TRUSTED_PROXY_HOPS={hops}; set one of them"),
                    );
                }
                hops
            }
        };

        let idle_account_ttl_seconds = match auth_mode {
            AuthMode::Header => src.number("IDLE_ACCOUNT_TTL_SECONDS", 172_800, 0, 31_536_000),
            AuthMode::ApiKey => 0,
        };

        let settings = Settings {
            environment,
            host,
            port,
            redis: redis.target,
            redis_min_replica_acks: redis.min_replica_acks,
            redis_ack_connections: redis.ack_connections,
            redis_key_prefix,
            redis_tls_ca,
            redis_timeout: millis(src.number("REDIS_TIMEOUT_MS", 500, 10, 60_000)),
            cors_origins,
            build_commit: src
                .raw("BUILD_COMMIT")
                .or_else(|| src.raw("RENDER_GIT_COMMIT"))
                .unwrap_or_else(|| "unknown".into()),
            instance: src
                .raw("INSTANCE_NAME")
                .or_else(|| src.raw("HOSTNAME"))
                .or_else(|| {
                    std::fs::read_to_string("/etc/hostname")
                        .ok()
                        .map(|h| h.trim().to_owned())
                        .filter(|h| !h.is_empty())
                })
                .unwrap_or_else(|| "unknown".into()),
            log_level,
            log_format: src.choice(
                "LOG_FORMAT",
                LogFormat::Json,
                &[("json", LogFormat::Json), ("pretty", LogFormat::Pretty)],
            ),
            max_iterations: src.number("MAX_ITERATIONS", 1_000_000, 100, 10_000_000),
            max_body_bytes: src.number("MAX_BODY_BYTES", 65_536, 1_024, 16 * 1024 * 1024),
            http: HttpLimits {
                header_read_timeout: millis(src.number(
                    "HTTP_HEADER_READ_TIMEOUT_MS",
                    10_000,
                    100,
                    600_000,
                )),
                body_read_timeout: millis(src.number(
                    "HTTP_BODY_READ_TIMEOUT_MS",
                    10_000,
                    100,
                    600_000,
                )),
                idle_timeout: millis(src.number("HTTP_IDLE_TIMEOUT_MS", 75_000, 1_000, 3_600_000)),
                max_connections: src.number("HTTP_MAX_CONNECTIONS", 1_024, 1, 1_000_000),
                http2_max_streams: src.number("HTTP2_MAX_CONCURRENT_STREAMS", 64, 1, 10_000),
                max_in_flight: src.number("MAX_REQUESTS_IN_FLIGHT", 512, 1, 1_000_000),
            },
            engine_queue_max: src.number("ENGINE_QUEUE_MAX", 64, 0, 100_000),
            request_timeout: millis(src.number("REQUEST_TIMEOUT_MS", 30_000, 100, 600_000)),
            daily_tokens: src.number("DAILY_TOKENS", 5, 0, 1_000_000_000),
            simulation_cost: src.number("SIMULATION_COST", 1, 0, 1_000_000),
            rate_limit_per_minute: src.number("RATE_LIMIT_PER_MINUTE", 10, 1, 6_000_000),
            rate_limit_burst: src.number("RATE_LIMIT_BURST", 15, 1, 1_000_000),
            cache_ttl_seconds: src.number("CACHE_TTL_SECONDS", 3_600, 1, 31_536_000),
            cache_wait: millis(src.number("CACHE_WAIT_MS", 10_000, 0, 120_000)),
            local_cache_bytes: src.number("LOCAL_CACHE_BYTES", 64 << 20, 0, 16 << 30),
            idempotency_ttl_seconds: src.number("IDEMPOTENCY_TTL_SECONDS", 86_400, 1, 31_536_000),
            idempotency_lease_seconds: src.number("IDEMPOTENCY_LEASE_SECONDS", 60, 1, 3_600),
            idempotency_max_keys: src.number("IDEMPOTENCY_MAX_KEYS", 1_000, 1, 1_000_000),
            hold_lease_seconds: src.number("HOLD_LEASE_SECONDS", 120, 1, 3_600),
            idle_account_ttl_seconds,
            auth_mode,
            admin_token,
            allow_header_auth: src.boolean("ALLOW_HEADER_AUTH", false),
            trusted_proxy_hops,
            shutdown_grace: Duration::from_secs(src.number("SHUTDOWN_GRACE_SECONDS", 25, 0, 600)),
            metrics_token,
        };
        settings.check(&src);
        src.finish()?;
        Ok(settings)
    }

    pub fn bind_address(&self) -> String {
        match self.host {
            IpAddr::V6(ip) => format!("[{ip}]:{}", self.port),
            IpAddr::V4(ip) => format!("{ip}:{}", self.port),
        }
    }
}
