//! Typed settings, read once at startup from the environment (and `.env` when present).
//!
//! Every variable is parsed and validated here, so the rest of the service works with
//! values that are already known to be sane. A bad value stops startup with one line that
//! names the variable: [`ConfigError`]'s `Display`.

use std::{collections::HashMap, fmt, net::IpAddr, str::FromStr, time::Duration};

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

/// Where the shared state lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisTarget {
    /// One Redis server (`REDIS_URL`); `rediss://` for TLS, credentials in the URL.
    Single(String),
    /// A Redis Cluster (`REDIS_CLUSTER_URLS`, comma-separated seed nodes).
    Cluster(Vec<String>),
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

/// Every setting of the service, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    pub environment: Environment,
    pub host: IpAddr,
    pub port: u16,
    pub redis: RedisTarget,
    pub redis_key_prefix: String,
    pub redis_timeout: Duration,
    /// PEM certificate(s) of a private CA that signs the Redis server's TLS certificate
    /// (`REDIS_TLS_CA_FILE`); without it `rediss://` trusts the public web roots.
    pub redis_tls_ca: Option<Vec<u8>>,
    pub cors_origins: Vec<String>,
    pub build_commit: String,
    pub log_level: String,
    pub log_format: LogFormat,
    pub max_iterations: u32,
    pub max_body_bytes: usize,
    pub daily_tokens: i64,
    pub simulation_cost: i64,
    pub rate_limit_per_minute: u32,
    pub rate_limit_burst: u32,
    pub cache_ttl_seconds: u64,
    pub cache_wait: Duration,
    pub idempotency_ttl_seconds: u64,
    pub idempotency_lease_seconds: u64,
    pub hold_lease_seconds: u64,
    pub auth_mode: AuthMode,
    pub admin_token: Option<String>,
    pub allow_header_auth: bool,
    pub trust_proxy: bool,
    pub shutdown_grace: Duration,
}

/// A setting that could not be accepted. Displays as one line naming the variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub variable: &'static str,
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid configuration: {}: {}",
            self.variable, self.reason
        )
    }
}

impl std::error::Error for ConfigError {}

fn invalid(variable: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        reason: reason.into(),
    }
}

/// Reads variables through a lookup function, so tests can pass a map instead of mutating
/// the process environment.
struct Source<F: Fn(&str) -> Option<String>>(F);

impl<F: Fn(&str) -> Option<String>> Source<F> {
    /// The trimmed value, with empty strings treated as unset.
    fn raw(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn string(&self, name: &'static str, default: &str) -> String {
        self.raw(name).unwrap_or_else(|| default.to_owned())
    }

    /// A number within `min..=max`, or the default when unset.
    fn number<T>(&self, name: &'static str, default: T, min: T, max: T) -> Result<T, ConfigError>
    where
        T: FromStr + PartialOrd + fmt::Display + Copy,
    {
        let Some(raw) = self.raw(name) else {
            return Ok(default);
        };
        match raw.parse::<T>() {
            Ok(value) if value >= min && value <= max => Ok(value),
            _ => Err(invalid(
                name,
                format!("expected a whole number from {min} to {max}, got {raw:?}"),
            )),
        }
    }

    fn boolean(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.raw(name).map(|v| v.to_ascii_lowercase()).as_deref() {
            None => Ok(default),
            Some("true" | "1" | "yes" | "on") => Ok(true),
            Some("false" | "0" | "no" | "off") => Ok(false),
            Some(other) => Err(invalid(
                name,
                format!("expected true or false, got {other:?}"),
            )),
        }
    }

    fn choice<T: Copy>(
        &self,
        name: &'static str,
        default: T,
        options: &[(&str, T)],
    ) -> Result<T, ConfigError> {
        let Some(raw) = self.raw(name) else {
            return Ok(default);
        };
        let wanted = raw.to_ascii_lowercase();
        options
            .iter()
            .find(|(label, _)| *label == wanted)
            .map(|(_, value)| *value)
            .ok_or_else(|| {
                let labels: Vec<&str> = options.iter().map(|(label, _)| *label).collect();
                invalid(
                    name,
                    format!("expected one of {}, got {raw:?}", labels.join(", ")),
                )
            })
    }
}

fn redis_url(variable: &'static str, url: &str) -> Result<String, ConfigError> {
    redis::parse_redis_url(url)
        .filter(|u| matches!(u.scheme(), "redis" | "rediss"))
        .map(|_| url.to_owned())
        .ok_or_else(|| {
            invalid(
                variable,
                "expected a redis:// or rediss:// URL (credentials go in the URL)",
            )
        })
}

impl Settings {
    /// Reads `.env` (when present, without overriding the real environment), then the
    /// environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        // A missing .env is the normal case in containers; a malformed one is worth failing on.
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(e) if e.not_found() => {}
            Err(e) => return Err(invalid(".env", e.to_string())),
        }
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds settings from a map, for tests and tools.
    pub fn from_map(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        Self::from_lookup(|name| vars.get(name).cloned())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let src = Source(lookup);
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
        )?;
        let production = environment == Environment::Production;

        let host = src
            .string("HOST", "0.0.0.0")
            .parse::<IpAddr>()
            .map_err(|_| invalid("HOST", "expected an IP address such as 0.0.0.0 or ::"))?;
        let port = src.number("PORT", 8000u16, 0, u16::MAX)?;

        let redis = match src.raw("REDIS_CLUSTER_URLS") {
            Some(list) => RedisTarget::Cluster(
                list.split(',')
                    .map(str::trim)
                    .filter(|u| !u.is_empty())
                    .map(|u| redis_url("REDIS_CLUSTER_URLS", u))
                    .collect::<Result<_, _>>()?,
            ),
            None => RedisTarget::Single(redis_url(
                "REDIS_URL",
                &src.string("REDIS_URL", "redis://127.0.0.1:6379"),
            )?),
        };

        let redis_key_prefix = src.string("REDIS_KEY_PREFIX", "to");
        let prefix_ok = redis_key_prefix.len() <= 32
            && redis_key_prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !prefix_ok {
            return Err(invalid(
                "REDIS_KEY_PREFIX",
                "expected 1-32 characters from A-Z a-z 0-9 . _ - (braces would break hash tags)",
            ));
        }

        let redis_tls_ca = match src.raw("REDIS_TLS_CA_FILE") {
            None => None,
            Some(path) => {
                let pem = std::fs::read(&path).map_err(|e| {
                    invalid("REDIS_TLS_CA_FILE", format!("cannot read {path:?}: {e}"))
                })?;
                if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
                    return Err(invalid(
                        "REDIS_TLS_CA_FILE",
                        format!("{path:?} holds no PEM certificate"),
                    ));
                }
                Some(pem)
            }
        };

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
            return Err(invalid(
                "CORS_ORIGINS",
                format!("expected comma-separated origins like https://example.org, got {bad:?}"),
            ));
        }

        let log_level = src.string("LOG_LEVEL", "info");
        if tracing_subscriber::EnvFilter::try_new(&log_level).is_err() {
            return Err(invalid(
                "LOG_LEVEL",
                format!(
                    "expected a level (error, warn, info, debug, trace) or a filter directive, got {log_level:?}"
                ),
            ));
        }

        let auth_mode = src.choice(
            "AUTH_MODE",
            if production {
                AuthMode::ApiKey
            } else {
                AuthMode::Header
            },
            &[("header", AuthMode::Header), ("api_key", AuthMode::ApiKey)],
        )?;
        let admin_token = src.raw("ADMIN_TOKEN");
        if admin_token.as_ref().is_some_and(|t| t.len() < 16) {
            return Err(invalid(
                "ADMIN_TOKEN",
                "expected at least 16 characters (use a long random value)",
            ));
        }
        let allow_header_auth = src.boolean("ALLOW_HEADER_AUTH", false)?;

        let settings = Settings {
            environment,
            host,
            port,
            redis,
            redis_key_prefix,
            redis_tls_ca,
            redis_timeout: Duration::from_millis(src.number(
                "REDIS_TIMEOUT_MS",
                500,
                10,
                60_000,
            )?),
            cors_origins,
            build_commit: src.string("BUILD_COMMIT", "unknown"),
            log_level,
            log_format: src.choice(
                "LOG_FORMAT",
                LogFormat::Json,
                &[("json", LogFormat::Json), ("pretty", LogFormat::Pretty)],
            )?,
            max_iterations: src.number("MAX_ITERATIONS", 1_000_000, 100, 10_000_000)?,
            max_body_bytes: src.number("MAX_BODY_BYTES", 65_536, 1_024, 16 * 1024 * 1024)?,
            daily_tokens: src.number("DAILY_TOKENS", 5, 0, 1_000_000_000)?,
            simulation_cost: src.number("SIMULATION_COST", 1, 0, 1_000_000)?,
            rate_limit_per_minute: src.number("RATE_LIMIT_PER_MINUTE", 10, 1, 6_000_000)?,
            rate_limit_burst: src.number("RATE_LIMIT_BURST", 15, 1, 1_000_000)?,
            cache_ttl_seconds: src.number("CACHE_TTL_SECONDS", 3_600, 1, 31_536_000)?,
            cache_wait: Duration::from_millis(src.number("CACHE_WAIT_MS", 10_000, 0, 120_000)?),
            idempotency_ttl_seconds: src.number(
                "IDEMPOTENCY_TTL_SECONDS",
                86_400,
                1,
                31_536_000,
            )?,
            idempotency_lease_seconds: src.number("IDEMPOTENCY_LEASE_SECONDS", 60, 1, 3_600)?,
            hold_lease_seconds: src.number("HOLD_LEASE_SECONDS", 120, 1, 3_600)?,
            auth_mode,
            admin_token,
            allow_header_auth,
            trust_proxy: src.boolean("TRUST_PROXY", false)?,
            shutdown_grace: Duration::from_secs(src.number(
                "SHUTDOWN_GRACE_SECONDS",
                25,
                0,
                600,
            )?),
        };
        settings.check_production()?;
        Ok(settings)
    }

    /// The guards that keep an unsafe configuration out of production.
    fn check_production(&self) -> Result<(), ConfigError> {
        if self.environment != Environment::Production {
            return Ok(());
        }
        if self.cors_origins.iter().any(|o| o == "*") {
            return Err(invalid(
                "CORS_ORIGINS",
                "\"*\" is refused in production; list the allowed origins",
            ));
        }
        if self.admin_token.is_none() {
            return Err(invalid(
                "ADMIN_TOKEN",
                "required in production (admin routes would be unprotected or unusable)",
            ));
        }
        if self.auth_mode == AuthMode::Header && !self.allow_header_auth {
            return Err(invalid(
                "AUTH_MODE",
                "header mode trusts X-Actor-ID from any caller; refused in production unless ALLOW_HEADER_AUTH=true",
            ));
        }
        Ok(())
    }

    pub fn bind_address(&self) -> String {
        match self.host {
            IpAddr::V6(ip) => format!("[{ip}]:{}", self.port),
            IpAddr::V4(ip) => format!("{ip}:{}", self.port),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_map(&map)
    }

    #[test]
    fn defaults_match_the_contract() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.environment, Environment::Development);
        assert_eq!(s.redis_key_prefix, "to");
        assert_eq!(s.max_iterations, 1_000_000);
        assert_eq!(s.max_body_bytes, 65_536);
        assert_eq!(s.daily_tokens, 5);
        assert_eq!(s.simulation_cost, 1);
        assert_eq!(s.rate_limit_per_minute, 10);
        assert_eq!(s.rate_limit_burst, 15);
        assert_eq!(s.cache_ttl_seconds, 3_600);
        assert_eq!(s.idempotency_ttl_seconds, 86_400);
        assert_eq!(s.auth_mode, AuthMode::Header);
        assert_eq!(s.log_format, LogFormat::Json);
        assert!(!s.trust_proxy);
    }

    #[test]
    fn a_bad_number_names_its_variable() {
        let err = settings(&[("PORT", "eighty")]).unwrap_err();
        assert_eq!(err.variable, "PORT");
        assert!(err.to_string().contains("PORT"), "{err}");
        assert_eq!(
            settings(&[("MAX_ITERATIONS", "5")]).unwrap_err().variable,
            "MAX_ITERATIONS"
        );
    }

    #[test]
    fn a_bad_choice_lists_the_options() {
        let err = settings(&[("LOG_FORMAT", "xml")]).unwrap_err();
        assert_eq!(err.variable, "LOG_FORMAT");
        assert!(err.reason.contains("json, pretty"), "{err}");
    }

    #[test]
    fn a_prefix_with_braces_is_refused() {
        assert_eq!(
            settings(&[("REDIS_KEY_PREFIX", "{x}")])
                .unwrap_err()
                .variable,
            "REDIS_KEY_PREFIX"
        );
    }

    #[test]
    fn a_non_redis_url_is_refused() {
        assert_eq!(
            settings(&[("REDIS_URL", "http://localhost")])
                .unwrap_err()
                .variable,
            "REDIS_URL"
        );
        assert!(settings(&[("REDIS_URL", "rediss://:secret@cache.example:6380/0")]).is_ok());
    }

    #[test]
    fn production_defaults_to_api_keys_and_needs_an_admin_token() {
        let err = settings(&[("ENV", "production")]).unwrap_err();
        assert_eq!(err.variable, "ADMIN_TOKEN");
        let s = settings(&[("ENV", "production"), ("ADMIN_TOKEN", "0123456789abcdef0")]).unwrap();
        assert_eq!(s.auth_mode, AuthMode::ApiKey);
    }

    #[test]
    fn production_refuses_a_wildcard_origin() {
        let err = settings(&[
            ("ENV", "production"),
            ("ADMIN_TOKEN", "0123456789abcdef0"),
            ("CORS_ORIGINS", "*"),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "CORS_ORIGINS");
    }

    #[test]
    fn production_refuses_header_auth_unless_allowed() {
        let base = [
            ("ENV", "production"),
            ("ADMIN_TOKEN", "0123456789abcdef0"),
            ("AUTH_MODE", "header"),
        ];
        assert_eq!(settings(&base).unwrap_err().variable, "AUTH_MODE");
        let mut allowed = base.to_vec();
        allowed.push(("ALLOW_HEADER_AUTH", "true"));
        assert!(settings(&allowed).is_ok());
    }

    #[test]
    fn a_missing_or_non_pem_ca_file_is_refused() {
        assert_eq!(
            settings(&[("REDIS_TLS_CA_FILE", "/nonexistent/ca.pem")])
                .unwrap_err()
                .variable,
            "REDIS_TLS_CA_FILE"
        );
        assert_eq!(
            settings(&[("REDIS_TLS_CA_FILE", "Cargo.toml")])
                .unwrap_err()
                .variable,
            "REDIS_TLS_CA_FILE"
        );
    }

    #[test]
    fn cluster_urls_select_the_cluster_client() {
        let s = settings(&[(
            "REDIS_CLUSTER_URLS",
            "redis://127.0.0.1:7000, redis://127.0.0.1:7001",
        )])
        .unwrap();
        assert_eq!(
            s.redis,
            RedisTarget::Cluster(vec![
                "redis://127.0.0.1:7000".into(),
                "redis://127.0.0.1:7001".into()
            ])
        );
    }
}
