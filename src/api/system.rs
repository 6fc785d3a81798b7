//! System routes: liveness, readiness, version and metrics. None of them is rate limited,
//! and only `/ready` talks to Redis.

use std::sync::Arc;

use poem_openapi::{
    ApiResponse, Object, OpenApi,
    payload::{Json, PlainText},
    types::Example,
};

use poem::Request;

use super::{
    ApiTags, auth,
    error::{ApiError, REDIS_RETRY_AFTER_SECONDS, doc},
    now_rfc3339,
};
use crate::{
    config::Settings,
    domain::engine::MODEL_VERSION,
    store::{Store, StoreError},
};

pub const SERVICE_NAME: &str = "trickster-oracle-api";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub struct SystemApi {
    pub settings: Arc<Settings>,
    pub store: Store,
}

/// The process is up.
#[derive(Object)]
#[oai(example)]
pub struct Health {
    /// Always `ok` when the process answers.
    pub status: String,
    pub service: String,
    pub version: String,
    /// RFC 3339 UTC.
    pub timestamp: String,
}

impl Example for Health {
    fn example() -> Self {
        Self {
            status: "ok".into(),
            service: SERVICE_NAME.into(),
            version: VERSION.into(),
            timestamp: "2026-01-01T12:00:00.000Z".into(),
        }
    }
}

/// Result of the Redis check: a `PING`, and which Redis this instance uses.
#[derive(Object)]
pub struct Check {
    pub ok: bool,
    /// Round-trip time of the check, milliseconds.
    pub latency_ms: f64,
    /// Why the check failed.
    #[oai(skip_serializing_if_is_none)]
    pub error: Option<String>,
    /// How the instance finds Redis: `single` (`REDIS_URL`), `sentinel` (the primary the
    /// Sentinels name, followed across failovers) or `cluster`.
    pub mode: String,
    /// `host:port` of the node in use: the server, or the primary the Sentinels name now.
    /// Shown to the administrator only (`Authorization: Bearer <ADMIN_TOKEN>`), like the
    /// error itself; absent for a cluster, whose calls go to the node owning each key.
    #[oai(skip_serializing_if_is_none)]
    pub node: Option<String>,
}

#[derive(Object)]
pub struct Checks {
    /// `PING` to Redis.
    pub redis: Check,
}

/// Whether this instance can serve traffic.
#[derive(Object)]
#[oai(example)]
pub struct Readiness {
    pub ready: bool,
    pub checks: Checks,
    /// RFC 3339 UTC.
    pub timestamp: String,
}

impl Example for Readiness {
    fn example() -> Self {
        Self {
            ready: true,
            checks: Checks {
                redis: Check {
                    ok: true,
                    latency_ms: 0.21,
                    error: None,
                    mode: "sentinel".into(),
                    node: None,
                },
            },
            timestamp: "2026-01-01T12:00:00.000Z".into(),
        }
    }
}

#[derive(ApiResponse)]
pub enum ReadyResponse {
    /// Every dependency answered.
    #[oai(status = 200)]
    Ready(Json<Readiness>),
    /// A dependency failed; the body says which. Load balancers should stop routing here.
    #[oai(status = 503)]
    NotReady(
        Json<Readiness>,
        /// Seconds before checking again makes sense.
        #[oai(header = "Retry-After")]
        u64,
    ),
}

/// Build and model identification.
#[derive(Object)]
#[oai(example)]
pub struct VersionInfo {
    pub service: String,
    pub version: String,
    /// Commit the binary was built from (`BUILD_COMMIT`).
    pub build_commit: String,
    /// `ENV` of this deployment.
    pub environment: String,
    /// Version of the simulation model; part of every fingerprint.
    pub model_version: String,
}

impl Example for VersionInfo {
    fn example() -> Self {
        Self {
            service: SERVICE_NAME.into(),
            version: VERSION.into(),
            build_commit: "3f2c1e0".into(),
            environment: "production".into(),
            model_version: MODEL_VERSION.into(),
        }
    }
}

#[OpenApi(tag = "ApiTags::System")]
impl SystemApi {
    /// Liveness: the process is up (never touches Redis).
    #[oai(path = "/health", method = "get", operation_id = "health")]
    async fn health(&self) -> Result<Json<Health>, ApiError<{ doc::INTERNAL }>> {
        Ok(Json(Health {
            status: "ok".into(),
            service: SERVICE_NAME.into(),
            version: VERSION.into(),
            timestamp: now_rfc3339(),
        }))
    }

    /// Readiness: Redis answers `PING` within `REDIS_TIMEOUT_MS`.
    ///
    /// The body says how the instance finds Redis (`mode`). A failed check says why in
    /// general terms; the Redis error itself (which may name hosts and certificates) is in
    /// the service log, and in the body only for the administrator (`Authorization: Bearer
    /// <ADMIN_TOKEN>`), who also reads which node the instance uses (`node`: with Sentinel,
    /// the primary they name now).
    #[oai(path = "/ready", method = "get", operation_id = "ready")]
    async fn ready(&self, req: &Request) -> ReadyResponse {
        let started = std::time::Instant::now();
        let result = self.store.ping().await;
        let latency_ms = (started.elapsed().as_secs_f64() * 1e6).round() / 1e3;
        let admin = auth::require_admin::<0>(&self.settings, req).is_ok();
        let node = self.store.node();
        let error = result.err().map(|err| {
            tracing::warn!(error = %err, node = ?node.address, "readiness check failed");
            if admin {
                err.to_string()
            } else {
                match err {
                    StoreError::Timeout(_) => "redis did not answer in time",
                    StoreError::Redis(e) if e.is_timeout() => "redis did not answer in time",
                    StoreError::Redis(_) => "redis is unreachable or refused the connection",
                    StoreError::Protocol { .. } => "redis gave an unexpected reply",
                    StoreError::Unconfirmed { .. } => "redis replicas did not confirm in time",
                }
                .to_owned()
            }
        });
        let check = Check {
            ok: error.is_none(),
            latency_ms,
            error,
            mode: node.mode.into(),
            node: node.address.filter(|_| admin),
        };
        let ok = check.ok;
        let body = Json(Readiness {
            ready: ok,
            checks: Checks { redis: check },
            timestamp: now_rfc3339(),
        });
        if ok {
            ReadyResponse::Ready(body)
        } else {
            ReadyResponse::NotReady(body, REDIS_RETRY_AFTER_SECONDS)
        }
    }

    /// Service, build and model versions.
    #[oai(path = "/version", method = "get", operation_id = "version")]
    async fn version(&self) -> Result<Json<VersionInfo>, ApiError<{ doc::INTERNAL }>> {
        Ok(Json(VersionInfo {
            service: SERVICE_NAME.into(),
            version: VERSION.into(),
            build_commit: self.settings.build_commit.clone(),
            environment: self.settings.environment.as_str().into(),
            model_version: MODEL_VERSION.into(),
        }))
    }

    /// Prometheus metrics in the text exposition format.
    ///
    /// With `METRICS_TOKEN` set, only for `Authorization: Bearer <METRICS_TOKEN>`; anyone
    /// else gets the same 404 as an unknown path.
    #[oai(path = "/metrics", method = "get", operation_id = "metrics")]
    async fn metrics(
        &self,
        req: &Request,
    ) -> Result<PlainText<String>, ApiError<{ doc::INTERNAL | doc::NOT_FOUND }>> {
        if let Some(token) = &self.settings.metrics_token {
            let presented = auth::bearer(req).unwrap_or_default();
            if !auth::constant_time_eq(presented, token) {
                return Err(ApiError::not_found("No resource exists at this path."));
            }
        }
        Ok(PlainText(crate::metrics::render()))
    }
}
