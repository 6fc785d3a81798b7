//! The catalogue and `POST /api/simulate`: validation (`plan`), the cache with single flight
//! across instances, the charge (`charge`) and the engine on a bounded pool of blocking
//! threads. The JSON shapes live in `wire`.
//!
//! The simulate handler's paths, in order of cost: a cache hit (admission, no charge); an
//! idempotent replay; a miss, where this request either computes (holding its cost while the
//! engine runs) or waits for the instance that is computing the same fingerprint.

mod charge;
pub mod engine;
pub mod local;
mod miss;
mod plan;
pub mod wire;

use std::sync::{Arc, LazyLock};

use self::{
    engine::EnginePool,
    local::{Cached, LocalResults},
    miss::Miss,
    plan::Plan,
    wire::{
        Catalogue, EventsResponse, SimulateRequest, SimulateRequestDoc, SimulateResponse,
        SimulationMeta,
    },
};
use super::{
    ApiTags,
    admission::{self, Admitted},
    auth,
    context::RequestContext,
    error::{ApiError, Capacity, Problem, ProblemBody, ProblemCode, doc},
    etag,
    idempotency::IdempotencyKey,
    json::{RenderedJson, Validated, splice_object},
    model::EventView,
};
use crate::{
    config::Settings,
    domain::{catalogue, engine::MODEL_VERSION},
    store::{
        Slot, Store,
        idempotency::{IdempotencyClaim, IdempotencyMode, Operation},
    },
};
use poem::Request;
use poem_openapi::{
    OpenApi,
    payload::Json,
    types::{ParseFromJSON, ToJSON},
};

pub use plan::{DEFAULT_ITERATIONS, MIN_ITERATIONS};

/// Errors `POST /api/simulate` documents.
const SIMULATE_ERRORS: u32 = doc::BASE
    | doc::BODY
    | doc::UNAUTHORIZED
    | doc::NOT_FOUND
    | doc::INSUFFICIENT
    | doc::RATE_LIMITED
    | doc::IN_FLIGHT
    | doc::KEY_MISMATCH;
type SimError = ApiError<SIMULATE_ERRORS>;

pub struct SimulateApi {
    pub settings: Arc<Settings>,
    pub store: Store,
    pub engine: EnginePool,
    pub local: LocalResults,
}

/// How the numbers of a response were obtained (RFC 9211 `Cache-Status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CacheStatus {
    Hit,
    /// Computed by a concurrent request that this one waited for.
    Collapsed,
    /// Computed by this request.
    Stored,
}

impl CacheStatus {
    /// An answer that did not come from the cache (an error).
    const MISS: &str = "trickster-oracle; fwd=miss";

    pub(super) fn header(self) -> &'static str {
        match self {
            Self::Hit => "trickster-oracle; hit",
            Self::Collapsed => "trickster-oracle; hit; collapsed",
            Self::Stored => "trickster-oracle; fwd=miss; stored",
        }
    }

    fn metric(self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Collapsed => "collapsed",
            Self::Stored => "miss",
        }
    }
}

/// A stored idempotent response, replayed.
fn replay(ctx: &RequestContext, status: u16, body: &str) -> Result<SimulateResponse, SimError> {
    let mut value: serde_json::Value =
        serde_json::from_str(body).map_err(|_| ApiError::internal())?;
    if status == 200 {
        let meta = value
            .get_mut("meta")
            .and_then(serde_json::Value::as_object_mut)
            .ok_or_else(ApiError::internal)?;
        meta.insert("idempotency_replay".into(), true.into());
        let cache_hit = meta
            .get("cache_hit")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        ctx.note_cache_hit(cache_hit);
        return Ok(SimulateResponse::Ok(
            RenderedJson::new(value.to_string()),
            CacheStatus::Hit.header().into(),
        ));
    }
    // The only other stored outcome is 402.
    let problem = <ProblemBody as ParseFromJSON>::parse_from_json(Some(value))
        .map_err(|_| ApiError::internal())?;
    Err(ApiError(Problem::from_body(problem)))
}

/// The response body: the cached numbers with this request's `event` and `meta`.
/// `cost` is `Some((tokens, engine ms))` when this request computed them.
fn result(
    ctx: &RequestContext,
    plan: &Plan,
    numbers: &str,
    cost: Option<(i64, f64)>,
) -> Result<String, SimError> {
    let event = EventView::new(&plan.matchup, plan.event_id.as_deref());
    let event = serde_json::to_string(&event).map_err(|err| {
        tracing::error!(error = %err, "cannot render an event");
        ApiError::internal()
    })?;
    respond(ctx, &event, &plan.fingerprint, numbers, cost)
}

/// A result as served: `event` and `meta` first, then the numbers.
pub fn respond<const D: u32>(
    ctx: &RequestContext,
    event: &str,
    fingerprint: &str,
    numbers: &str,
    cost: Option<(i64, f64)>,
) -> Result<String, ApiError<D>> {
    let (cost_tokens, engine_ms) = cost.unwrap_or((0, 0.0));
    let meta = SimulationMeta {
        request_id: ctx.request_id.clone(),
        fingerprint: fingerprint.to_owned(),
        cache_hit: cost.is_none(),
        idempotency_replay: false,
        model_version: MODEL_VERSION.into(),
        cost_tokens,
        engine_ms: (engine_ms * 1e3).round() / 1e3,
    };
    let meta = serde_json::to_string(&meta).map_err(|err| {
        tracing::error!(error = %err, "cannot render a result's meta");
        ApiError::internal()
    })?;
    splice_object(&[("event", event), ("meta", &meta)], numbers).ok_or_else(|| {
        tracing::error!("cached analysis is not a JSON object");
        ApiError::internal()
    })
}

impl SimulateApi {
    /// A cached result (`body`, rendered for this request): admission stores it at once as
    /// the final response for the key.
    async fn serve_hit(
        &self,
        req: &Request,
        store: &Store,
        slot: &Slot,
        claim: Option<IdempotencyClaim>,
        body: String,
    ) -> Result<SimulateResponse, SimError> {
        let ctx = RequestContext::of(req);
        let admitted =
            admission::admit(req, &self.settings, store, slot, true, claim.as_ref()).await?;
        if let Admitted::Replay { status, body } = admitted {
            return replay(ctx, status, &body);
        }
        ctx.note_cache_hit(true);
        crate::metrics::record_cache(CacheStatus::Hit.metric());
        Ok(SimulateResponse::Ok(
            RenderedJson::new(body),
            CacheStatus::Hit.header().into(),
        ))
    }
}

#[OpenApi(tag = "ApiTags::Simulation")]
impl SimulateApi {
    /// List the built-in sample matches.
    ///
    /// The list changes only with a new version of the service: it has an `ETag`, and a
    /// request whose `If-None-Match` names it gets a 304.
    #[oai(path = "/api/events", method = "get", operation_id = "listEvents")]
    async fn events(
        &self,
        req: &Request,
    ) -> Result<EventsResponse, ApiError<{ doc::BASE | doc::RATE_LIMITED }>> {
        static CATALOGUE: LazyLock<(String, String)> = LazyLock::new(|| {
            let events = catalogue::EVENTS
                .iter()
                .map(wire::catalogue_entry)
                .collect();
            let json = Catalogue { events }.to_json_string();
            (etag::of(&json), json)
        });
        let slot = auth::optional_actor_slot(&self.settings, req);
        admission::admit(req, &self.settings, &self.store, &slot, true, None).await?;
        let (tag, json) = &*CATALOGUE;
        if etag::not_modified(req, tag) {
            return Ok(EventsResponse::NotModified(tag.clone()));
        }
        Ok(EventsResponse::Ok(
            RenderedJson::new(json.clone()),
            tag.clone(),
        ))
    }

    /// Simulate a match (or fetch the identical simulation from the cache).
    ///
    /// Monte Carlo estimate of home / draw / away probabilities under an Elo model with a
    /// draw band, with Wilson intervals, the closed form, expected-score statistics, three
    /// scenarios, an uncertainty score and a plain-language explanation. A computed result
    /// costs `SIMULATION_COST` tokens; a cache hit is free.
    #[oai(path = "/api/simulate", method = "post", operation_id = "simulate")]
    async fn simulate(
        &self,
        req: &Request,
        _auth: auth::CallerAuth,
        /// Makes retries safe: the same key and body replay the first response
        /// (`X-Idempotency-Key` is accepted too).
        #[oai(name = "Idempotency-Key")]
        key: IdempotencyKey,
        body: Json<Validated<SimulateRequest, SimulateRequestDoc>>,
    ) -> Result<SimulateResponse, SimError> {
        // Boxed: poem moves this handler's future into a box at each of its layers, and
        // `serve`'s 4 KB of state need not travel with it (3.9 KB per layer instead of 6.5).
        let outcome = Box::pin(self.serve(req, key, body.0.into_inner())).await;
        if outcome.is_err() {
            // RFC 9211 on every answer: an error was not served from the cache.
            RequestContext::of(req).note_header("cache-status", CacheStatus::MISS.into());
        }
        outcome
    }
}

impl SimulateApi {
    async fn serve(
        &self,
        req: &Request,
        key: IdempotencyKey,
        request: SimulateRequest,
    ) -> Result<SimulateResponse, SimError> {
        let ctx = RequestContext::of(req);
        let plan = Plan::new(&request, &self.settings)?;
        // One Redis budget for the whole request (REDIS_TIMEOUT_MS).
        let store = self.store.for_request();

        // Round trip 1: who is calling (a key lookup in API-key mode) and, unless this
        // instance has a copy, the cache lookup — concurrently; neither depends on the other.
        let local = plan
            .seed_supplied
            .then(|| self.local.get(&plan.fingerprint))
            .flatten();
        let lookup = async {
            if plan.seed_supplied && local.is_none() {
                store.cache_get(&plan.fingerprint).await
            } else {
                Ok(None)
            }
        };
        let (actor, cached) = tokio::join!(
            auth::caller::<SIMULATE_ERRORS>(&self.settings, &store, req),
            lookup
        );
        let actor = actor?;
        let slot = Slot::Actor(actor.clone());
        let stored = match (local, cached?) {
            (Some(copy), _) => Some(copy),
            (None, Some(stored)) => {
                self.local.insert(&plan.fingerprint, &stored);
                Some(Arc::from(stored))
            }
            (None, None) => None,
        };
        if let Some(stored) = stored {
            let cached = Cached::read(&stored)?;
            let body = result(ctx, &plan, cached.numbers, None)?;
            // The answer is known: a key stores it at once (no copy of it without a key).
            let claim = match key.0 {
                None => None,
                Some(_) => {
                    let mode = IdempotencyMode::Store {
                        status: 200,
                        body: body.clone(),
                    };
                    key.claim(&self.settings, Operation::Simulate, &request, mode)
                        .map_err(ApiError::recast)?
                }
            };
            return self.serve_hit(req, &store, &slot, claim, body).await;
        }

        // A place in the engine queue first: a full instance refuses before it claims or
        // holds anything.
        let engine = self
            .engine
            .reserve()
            .ok_or_else(|| ApiError::overloaded(Capacity::EngineQueue))?;
        let claim = key
            .claim_to_run(&self.settings, Operation::Simulate, &request)
            .map_err(ApiError::recast)?;
        let admitted =
            admission::admit(req, &self.settings, &store, &slot, true, claim.as_ref()).await;
        match admitted {
            Ok(Admitted::Run) => {}
            Ok(Admitted::Replay { status, body }) => return replay(ctx, status, &body),
            Err(err) => {
                if err.code == ProblemCode::ServiceUnavailable {
                    // The admission may have claimed the key before its reply was lost.
                    miss::cleanup(self.store.clone(), actor, None, claim);
                }
                return Err(err);
            }
        }
        let miss = Miss {
            settings: self.settings.clone(),
            store,
            cleanup_store: self.store.clone(),
            ctx: ctx.clone(),
            plan,
            actor,
            claim,
            engine,
            local: self.local.clone(),
        };
        miss.spawn().await
    }
}
