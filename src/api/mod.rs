//! The HTTP surface: one module per area, assembled into a single route tree here.
//!
//! Handlers live in `#[OpenApi]` structs that own their state (no `Data<&T>` lookups that
//! could fail at runtime). The whole tree is wrapped by [`envelope::RequestEnvelope`], which
//! gives every response its request id, timing header, access-log line and — for errors — its
//! problem+json body; handlers reach the request's [`context::RequestContext`] through the
//! request they are given.

pub mod admin;
pub mod admission;
pub mod auth;
pub mod context;
pub mod cors;
pub mod document;
pub mod envelope;
pub mod error;
pub mod etag;
pub mod explore;
pub mod gate;
pub mod idempotency;
pub mod json;
pub mod model;
pub mod problem;
pub mod problems;
pub mod simulate;
pub mod simulations;
pub mod system;
pub mod tokens;
pub mod trace;

use std::sync::Arc;

use poem::{Endpoint, EndpointExt, Route};
use poem_openapi::{OpenApiService, Tags};

use crate::{config::Settings, store::Store};

#[derive(Tags)]
pub enum ApiTags {
    /// Match simulations and the sample catalogue.
    Simulation,
    /// The caller's token balance and ledger.
    Tokens,
    /// Administration: token grants and API keys (`ADMIN_TOKEN`).
    Admin,
    /// Liveness, readiness, version and metrics.
    System,
}

/// Current time as RFC 3339 UTC with millisecond precision and a `Z`.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}

/// A time in ms since the epoch as RFC 3339 UTC.
pub fn rfc3339_ms(ms: u64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    humantime::format_rfc3339_millis(time).to_string()
}

/// Everything a handler may need, shared by all API structs.
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub store: Store,
    pub engine: simulate::engine::EnginePool,
    pub local: simulate::local::LocalResults,
}

impl AppState {
    pub fn new(settings: Settings, store: Store) -> Self {
        Self {
            engine: simulate::engine::EnginePool::new(settings.engine_queue_max),
            local: simulate::local::LocalResults::new(
                settings.local_cache_bytes,
                std::time::Duration::from_secs(settings.cache_ttl_seconds),
            ),
            settings: Arc::new(settings),
            store,
        }
    }
}

type Apis = (
    simulate::SimulateApi,
    tokens::TokensApi,
    admin::AdminApi,
    system::SystemApi,
    problems::ProblemsApi,
    simulations::SimulationsApi,
);

/// The OpenAPI service: operations plus the document describing them.
pub fn openapi(state: &AppState) -> OpenApiService<Apis, ()> {
    let apis = (
        simulate::SimulateApi {
            settings: state.settings.clone(),
            store: state.store.clone(),
            engine: state.engine.clone(),
            local: state.local.clone(),
        },
        tokens::TokensApi {
            settings: state.settings.clone(),
            store: state.store.clone(),
        },
        admin::AdminApi {
            settings: state.settings.clone(),
            store: state.store.clone(),
        },
        system::SystemApi {
            settings: state.settings.clone(),
            store: state.store.clone(),
        },
        problems::ProblemsApi,
        simulations::SimulationsApi {
            settings: state.settings.clone(),
            store: state.store.clone(),
            local: state.local.clone(),
        },
    );
    OpenApiService::new(apis, "Trickster Oracle API", system::VERSION)
        .description(include_str!("../../docs/api-description.md"))
}

/// The complete application endpoint.
pub fn routes(state: AppState) -> impl Endpoint {
    let service = openapi(&state);
    let document = document::build(&service, &state.settings);
    let spec_json = document.json;
    let swagger_html = document.swagger_html;
    let spec_etag = etag::of(&spec_json);
    let spec = poem::endpoint::make_sync(move |req| {
        let response = poem::Response::builder().header("etag", spec_etag.as_str());
        if etag::not_modified(&req, &spec_etag) {
            response
                .status(poem::http::StatusCode::NOT_MODIFIED)
                .finish()
        } else {
            response
                .content_type("application/json")
                .body(spec_json.clone())
        }
    });
    let docs = poem::endpoint::make_sync(move |_| poem::web::Html(swagger_html.clone()));
    let gate = gate::AuthGate {
        settings: state.settings.clone(),
        store: state.store.clone(),
        paths: Arc::new(document.paths.values().cloned().collect()),
    };
    Route::new()
        .at("/openapi.json", poem::get(spec))
        .at("/docs", poem::get(docs))
        .nest("/", service)
        .with(explore::Explorer)
        .with(gate)
        .with_if(
            !state.settings.cors_origins.is_empty(),
            cors::layer(&state.settings.cors_origins),
        )
        .with_if(
            !state.settings.cors_origins.is_empty(),
            cors::TimingAllowOrigin,
        )
        .with(envelope::RequestEnvelope {
            max_body_bytes: state.settings.max_body_bytes,
            body_read_timeout: state.settings.http.body_read_timeout,
            in_flight: Arc::new(tokio::sync::Semaphore::new(
                state.settings.http.max_in_flight,
            )),
            max_in_flight: state.settings.http.max_in_flight,
            paths: Arc::new(document.paths),
            instance: Arc::from(state.settings.instance.as_str()),
            trusted_proxy_hops: state.settings.trusted_proxy_hops,
        })
}

/// The OpenAPI document as served at `/openapi.json` (no network needed).
pub fn openapi_document(settings: Settings) -> Result<String, crate::store::StoreError> {
    let state = AppState::new(settings.clone(), Store::new(&settings)?);
    Ok(document::build(&openapi(&state), &settings).json)
}
