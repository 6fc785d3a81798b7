//! The catalogue and `POST /api/simulate`: validation, fingerprint, cache with single flight,
//! and the engine on a bounded pool of blocking threads.

use std::{sync::Arc, time::Instant};

use poem::Request;
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::Header,
    payload::Json,
    types::{Example, ParseFromJSON, ToJSON},
};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use super::{
    ApiTags, auth,
    error::{ApiError, ProblemBody, ProblemCode, doc},
    gate,
    json::{RenderedJson, Validated, splice_object},
    model::{EventView, ExpectedScore, Explanation, Intervals, Probabilities, Risk, Scenario},
};
use crate::{
    config::Settings,
    domain::{
        analysis::{Analysis, analyse},
        catalogue,
        engine::MODEL_VERSION,
        fingerprint::fingerprint,
        matchup::{InvalidField, Matchup, MatchupInput},
    },
    store::{
        Clock, Store,
        admission::{IdempotencyClaim, IdempotencyMode},
        cache::{CacheOutcome, CachePolicy},
        keys::Slot,
        ledger::{ClaimEnd, HoldEnd, HoldOutcome},
    },
    telemetry,
};

pub const DEFAULT_ITERATIONS: u32 = 10_000;
pub const MIN_ITERATIONS: u32 = 100;

/// Errors `POST /api/simulate` documents.
const SIMULATE_ERRORS: u32 = doc::BASE
    | doc::BODY
    | doc::UNAUTHORIZED
    | doc::NOT_FOUND
    | doc::INSUFFICIENT
    | doc::RATE_LIMITED
    | doc::IN_FLIGHT
    | doc::KEY_MISMATCH;
const SIMULATE_SCOPE: &str = "POST /api/simulate";
type SimError = ApiError<SIMULATE_ERRORS>;

pub struct SimulateApi {
    pub settings: Arc<Settings>,
    pub store: Store,
    /// Bounds concurrent engine runs to the CPU count: excess requests wait their turn
    /// asynchronously instead of oversubscribing the cores.
    pub engine_slots: Arc<Semaphore>,
}

/// A match described inline.
#[derive(Debug, Clone, Object, Deserialize, Serialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    /// At most 64 characters, not blank, no control characters (U+0000–U+001F, U+007F);
    /// surrounding spaces are
    /// trimmed. Echoed as given in the explanation.
    #[oai(validator(
        max_length = 64,
        pattern = r"^[^\x00-\x1f\x7f]*[^\x00-\x20\x7f\s][^\x00-\x1f\x7f]*$"
    ))]
    pub home_team: String,
    /// Same rules as `home_team`.
    #[oai(validator(
        max_length = 64,
        pattern = r"^[^\x00-\x1f\x7f]*[^\x00-\x20\x7f\s][^\x00-\x1f\x7f]*$"
    ))]
    pub away_team: String,
    /// Elo rating, 0–3000.
    #[oai(validator(minimum(value = "0"), maximum(value = "3000")))]
    pub home_rating: f64,
    /// Elo rating, 0–3000.
    #[oai(validator(minimum(value = "0"), maximum(value = "3000")))]
    pub away_rating: f64,
    /// Elo points added to the home side, 0–300 (default 100).
    #[oai(validator(minimum(value = "0"), maximum(value = "300")))]
    pub home_advantage: Option<f64>,
    /// The sport (default `football`, the only one the model is calibrated for).
    pub sport: Option<Sport>,
}

/// A sport the model is calibrated for.
#[derive(Debug, Clone, Copy, Enum, Deserialize, Serialize)]
#[oai(rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum Sport {
    Football,
}

impl Sport {
    fn as_str(self) -> &'static str {
        match self {
            Sport::Football => "football",
        }
    }
}

/// Exactly one of `event_id` (from `GET /api/events`) or `event` (inline).
#[derive(Debug, Clone, Object, Deserialize, Serialize)]
#[oai(deny_unknown_fields, example)]
#[serde(deny_unknown_fields)]
pub struct SimulateRequest {
    /// A catalogue id such as `demo_001`.
    pub event_id: Option<String>,
    /// An inline match.
    pub event: Option<EventInput>,
    /// Monte Carlo iterations, from 100 to `MAX_ITERATIONS` (default 10 000).
    #[oai(validator(minimum(value = "100")))]
    pub iterations: Option<u32>,
    /// Seed of the random stream. Omitted: the server picks one and returns it. The same
    /// inputs and seed always give bit-identical numbers, and are served from the cache.
    pub seed: Option<u64>,
}

impl Example for SimulateRequest {
    fn example() -> Self {
        Self {
            event_id: Some("demo_001".into()),
            event: None,
            iterations: Some(10_000),
            seed: Some(42),
        }
    }
}

/// How this response was produced.
#[derive(Debug, Clone, Object)]
pub struct SimulationMeta {
    pub request_id: String,
    /// SHA-256 of the canonical inputs (match, iterations, seed, model version).
    pub fingerprint: String,
    /// The numbers came from the cache (no engine run, no charge).
    pub cache_hit: bool,
    /// This is a stored response replayed for a repeated idempotency key.
    pub idempotency_replay: bool,
    pub model_version: String,
    /// Tokens charged for this request (0 on a cache hit).
    pub cost_tokens: i64,
    /// Engine time spent for this request, milliseconds (0 when served from the cache).
    pub engine_ms: f64,
}

/// The numbers and text of an analysis: everything in a result that does not depend on
/// the request. This is what the cache stores, as the JSON it is served as.
#[derive(Debug, Clone, Object)]
pub struct SimulationNumbers {
    pub iterations: u32,
    pub seed: u64,
    /// Monte Carlo estimates, base scenario.
    pub probabilities: Probabilities,
    pub intervals_95: Intervals,
    /// Closed-form probabilities, base scenario.
    pub analytic: Probabilities,
    pub expected_score: ExpectedScore,
    pub scenarios: Vec<Scenario>,
    pub risk: Risk,
    pub explanation: Explanation,
}

impl SimulationNumbers {
    fn new(analysis: Analysis) -> Self {
        let sim = analysis.simulation;
        Self {
            iterations: sim.iterations,
            seed: sim.seed,
            probabilities: sim.probabilities.into(),
            intervals_95: sim.intervals_95.into(),
            analytic: sim.analytic.into(),
            expected_score: sim.expected_score.into(),
            scenarios: sim.scenarios.into_iter().map(Into::into).collect(),
            risk: sim.risk.into(),
            explanation: analysis.explanation.into(),
        }
    }
}

/// The analysis of one match.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct SimulationResult {
    pub event: EventView,
    #[oai(flatten)]
    pub numbers: SimulationNumbers,
    pub meta: SimulationMeta,
}

#[derive(ApiResponse)]
pub enum SimulateResponse {
    /// The analysis (computed, or from the cache).
    #[oai(status = 200)]
    Ok(
        RenderedJson<SimulationResult>,
        /// RFC 9211: `trickster-oracle; hit`, or `trickster-oracle; fwd=miss; stored`, with
        /// `; collapsed` when the result was computed by a concurrent request.
        #[oai(header = "Cache-Status")]
        String,
    ),
}

/// A catalogue match.
#[derive(Debug, Clone, Object)]
pub struct CatalogueEntry {
    pub event_id: String,
    pub competition: String,
    pub home_team: String,
    pub away_team: String,
    pub home_rating: f64,
    pub away_rating: f64,
    pub home_advantage: f64,
    pub sport: String,
    /// What the match is good for exploring.
    pub note: String,
}

/// The built-in sample matches.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Catalogue {
    pub events: Vec<CatalogueEntry>,
}

impl Example for SimulationResult {
    /// A real result: demo_001 with 1 000 iterations and seed 42, computed by the engine.
    fn example() -> Self {
        let event = catalogue::find("demo_001").expect("demo_001 is in the catalogue");
        let matchup = event.matchup();
        SimulationResult {
            event: EventView::new(&matchup, Some(event.id)),
            numbers: SimulationNumbers::new(analyse(&matchup, 1_000, 42)),
            meta: SimulationMeta {
                request_id: "6f1c8a52-3f0e-4c1d-9a7b-2d4e5f607182".into(),
                fingerprint: fingerprint(&matchup, 1_000, 42),
                cache_hit: false,
                idempotency_replay: false,
                model_version: MODEL_VERSION.into(),
                cost_tokens: 1,
                engine_ms: 0.05,
            },
        }
    }
}

impl Example for Catalogue {
    fn example() -> Self {
        Self {
            events: catalogue::EVENTS
                .iter()
                .take(1)
                .map(catalogue_entry)
                .collect(),
        }
    }
}

fn catalogue_entry(e: &catalogue::CatalogueEvent) -> CatalogueEntry {
    CatalogueEntry {
        event_id: e.id.into(),
        competition: e.competition.into(),
        home_team: e.home_team.into(),
        away_team: e.away_team.into(),
        home_rating: e.home_rating,
        away_rating: e.away_rating,
        home_advantage: e.home_advantage,
        sport: crate::domain::matchup::DEFAULT_SPORT.into(),
        note: e.note.into(),
    }
}

/// A validated simulation request.
struct Plan {
    matchup: Matchup,
    event_id: Option<String>,
    iterations: u32,
    seed: u64,
    seed_supplied: bool,
}

fn invalid<const D: u32>(err: InvalidField) -> ApiError<D> {
    ApiError::invalid(err.to_string())
}

impl SimulateApi {
    fn plan(&self, request: SimulateRequest) -> Result<Plan, ApiError<SIMULATE_ERRORS>> {
        let iterations = request.iterations.unwrap_or(DEFAULT_ITERATIONS);
        let max = self.settings.max_iterations;
        if !(MIN_ITERATIONS..=max).contains(&iterations) {
            return Err(ApiError::invalid(format!(
                "iterations: must be from {MIN_ITERATIONS} to {max}"
            )));
        }
        let (matchup, event_id) = match (request.event_id, request.event) {
            (Some(_), Some(_)) => {
                return Err(ApiError::invalid(
                    "event_id, event: give exactly one of them, not both",
                ));
            }
            (None, None) => {
                return Err(ApiError::invalid(
                    "event_id, event: one of them is required",
                ));
            }
            (Some(id), None) => {
                let found = catalogue::find(id.trim()).ok_or_else(|| {
                    ApiError::not_found(format!(
                        "event_id: no catalogue event {id:?}; GET /api/events lists them"
                    ))
                })?;
                (found.matchup(), Some(found.id.to_owned()))
            }
            (None, Some(event)) => {
                let matchup = Matchup::parse(
                    MatchupInput {
                        home_team: &event.home_team,
                        away_team: &event.away_team,
                        home_rating: event.home_rating,
                        away_rating: event.away_rating,
                        home_advantage: event.home_advantage,
                        sport: event.sport.map(Sport::as_str),
                    },
                    "event.",
                )
                .map_err(invalid)?;
                (matchup, None)
            }
        };
        let (seed, seed_supplied) = match request.seed {
            Some(seed) => (seed, true),
            None => (uuid::Uuid::new_v4().as_u64_pair().0, false),
        };
        Ok(Plan {
            matchup,
            event_id,
            iterations,
            seed,
            seed_supplied,
        })
    }

    /// Runs the engine on a blocking thread (bounded by `engine_slots`) and returns the
    /// analysis as the JSON the cache stores ([`SimulationNumbers`]), with the engine time.
    async fn compute(&self, plan: &Plan) -> Result<(String, f64), ApiError<SIMULATE_ERRORS>> {
        let _slot = self
            .engine_slots
            .acquire()
            .await
            .map_err(|_| ApiError::internal())?;
        let matchup = plan.matchup.clone();
        let (iterations, seed) = (plan.iterations, plan.seed);
        let span = tracing::Span::current();
        let joined = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let started = Instant::now();
            let analysis = analyse(&matchup, iterations, seed);
            let elapsed = started.elapsed();
            crate::metrics::record_engine(iterations, elapsed);
            let json = SimulationNumbers::new(analysis).to_json_string();
            (json, elapsed.as_secs_f64() * 1e3)
        })
        .await;
        match joined {
            Ok(done) => Ok(done),
            Err(err) => {
                tracing::error!(error = %err, "engine task failed");
                Err(ApiError::internal())
            }
        }
    }
}

/// What a computation left behind on the account, to settle when the request ends.
#[derive(Default)]
struct Charge {
    hold_id: Option<String>,
    engine_ms: f64,
}

impl SimulateApi {
    /// The response body: the cached numbers with this request's `event` and `meta`.
    fn result(
        &self,
        plan: &Plan,
        fingerprint: &str,
        numbers: &str,
        computed: bool,
        engine_ms: f64,
    ) -> Result<String, SimError> {
        let event = EventView::new(&plan.matchup, plan.event_id.as_deref());
        let meta = SimulationMeta {
            request_id: telemetry::RequestContext::current().request_id,
            fingerprint: fingerprint.to_owned(),
            cache_hit: !computed,
            idempotency_replay: false,
            model_version: MODEL_VERSION.into(),
            cost_tokens: if computed {
                self.settings.simulation_cost
            } else {
                0
            },
            engine_ms: (engine_ms * 1e3).round() / 1e3,
        };
        splice_object(
            &[
                ("event", &event.to_json_string()),
                ("meta", &meta.to_json_string()),
            ],
            numbers,
        )
        .ok_or_else(|| {
            tracing::error!("cached analysis is not a JSON object");
            ApiError::internal()
        })
    }

    /// A stored idempotent response, replayed.
    fn replay(status: u16, body: &str) -> Result<SimulateResponse, SimError> {
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
            telemetry::note_cache_hit(cache_hit);
            return Ok(SimulateResponse::Ok(
                RenderedJson::new(value.to_string()),
                "trickster-oracle; hit".into(),
            ));
        }
        // The only other stored outcome is 402.
        let problem = <ProblemBody as ParseFromJSON>::parse_from_json(Some(value))
            .map_err(|_| ApiError::internal())?;
        let mut err = ApiError::new(problem.code, problem.detail);
        err.required = problem.required;
        err.available = problem.available;
        Err(err)
    }

    /// The cache miss path: single flight, charge (hold) only when this request computes.
    async fn compute_or_wait(
        &self,
        plan: &Plan,
        fingerprint: &str,
        actor: &str,
        charge: &mut Charge,
    ) -> Result<(String, CacheOutcome), SimError> {
        let policy = CachePolicy {
            ttl_seconds: self.settings.cache_ttl_seconds,
            max_wait: self.settings.cache_wait,
        };
        let compute = move || async move {
            self.hold(actor, charge).await?;
            let (json, ms) = self.compute(plan).await?;
            charge.engine_ms = ms;
            Ok::<_, SimError>(json)
        };
        if plan.seed_supplied {
            self.store
                .cache_fetch_or_compute(fingerprint, policy, compute)
                .await
        } else {
            // A fresh seed cannot be in the cache; store the result so that repeating the
            // request with the returned seed is a hit.
            let json = compute().await?;
            self.store
                .cache_store(fingerprint, "", &json, policy.ttl_seconds)
                .await?;
            Ok((json, CacheOutcome::Stored))
        }
    }

    /// Takes `SIMULATION_COST` tokens as a hold, or fails with 402.
    async fn hold(&self, actor: &str, charge: &mut Charge) -> Result<(), SimError> {
        let cost = self.settings.simulation_cost;
        if cost == 0 {
            return Ok(());
        }
        let hold_id = uuid::Uuid::new_v4().simple().to_string();
        let request_id = telemetry::RequestContext::current().request_id;
        let outcome = self
            .store
            .hold(
                actor,
                self.settings.daily_tokens,
                cost,
                &hold_id,
                self.settings.hold_lease_seconds * 1000,
                &request_id,
                "simulation",
                Clock::Redis,
            )
            .await?;
        match outcome {
            HoldOutcome::Held { .. } => {
                charge.hold_id = Some(hold_id);
                Ok(())
            }
            HoldOutcome::Insufficient { balance } => {
                let mut err = ApiError::new(
                    ProblemCode::InsufficientTokens,
                    format!(
                        "This simulation costs {cost} token{}; {balance} available.",
                        if cost == 1 { "" } else { "s" }
                    ),
                );
                err.required = Some(cost);
                err.available = Some(balance);
                Err(err)
            }
        }
    }

    /// Ends the request on the actor's account: commit or refund the hold, store or forget
    /// the idempotent response.
    async fn settle(
        &self,
        actor: &str,
        charge: &Charge,
        claim: Option<&IdempotencyClaim>,
        outcome: &Result<String, SimError>,
    ) -> Result<(), SimError> {
        let (status, body) = match outcome {
            Ok(body) => (200, body.clone()),
            Err(err) => (
                err.code.status().as_u16(),
                err.problem_body().to_json_string(),
            ),
        };
        // 2xx and 402 are final answers; anything else is transient and may be retried.
        let store_response = status == 200 || status == 402;
        let hold = charge.hold_id.as_deref().map(|id| {
            let end = if outcome.is_ok() {
                HoldEnd::Commit
            } else {
                HoldEnd::Refund {
                    reason: "simulation failed",
                }
            };
            (id, end)
        });
        let claim_end = claim.map(|c| {
            let end = if store_response {
                ClaimEnd::Store {
                    status,
                    body: &body,
                    ttl_seconds: self.settings.idempotency_ttl_seconds,
                }
            } else {
                ClaimEnd::Forget
            };
            (c, end)
        });
        if hold.is_none() && claim_end.is_none() {
            return Ok(());
        }
        self.store
            .settle(actor, hold, claim_end, Clock::Redis)
            .await?;
        Ok(())
    }
}

#[OpenApi(tag = "ApiTags::Simulation")]
impl SimulateApi {
    /// List the built-in sample matches.
    #[oai(path = "/api/events", method = "get")]
    async fn events(
        &self,
        req: &Request,
    ) -> Result<Json<Catalogue>, ApiError<{ doc::BASE | doc::RATE_LIMITED }>> {
        let slot = auth::optional_actor_slot(&self.settings, req);
        gate::admit(
            &self.settings,
            &self.store,
            &slot,
            Some(gate::api_rate_limit(&self.settings)),
            None,
        )
        .await?;
        let events = catalogue::EVENTS.iter().map(catalogue_entry).collect();
        Ok(Json(Catalogue { events }))
    }

    /// Simulate a match (or fetch the identical simulation from the cache).
    ///
    /// Monte Carlo estimate of home / draw / away probabilities under an Elo model with a
    /// draw band, with Wilson intervals, the closed form, expected-score statistics, three
    /// scenarios, an uncertainty score and a plain-language explanation. A computed result
    /// costs `SIMULATION_COST` tokens; a cache hit is free.
    #[oai(path = "/api/simulate", method = "post")]
    async fn simulate(
        &self,
        req: &Request,
        _auth: auth::CallerAuth,
        /// Makes retries safe: the same key and body replay the first response
        /// (`X-Idempotency-Key` is accepted too).
        #[oai(
            name = "Idempotency-Key",
            validator(min_length = 1, max_length = 255, pattern = r"^[\x20-\x7e]+$")
        )]
        _idempotency_key: Header<Option<String>>,
        body: Json<Validated<SimulateRequest>>,
    ) -> Result<SimulateResponse, SimError> {
        let request = body.0.0;
        let key = gate::idempotency_key(req)?;
        // Only a request with an idempotency key needs its canonical body (for the hash).
        let canonical_body = match key {
            Some(_) => serde_json::to_string(&request).unwrap_or_default(),
            None => String::new(),
        };
        let plan = self.plan(request)?;
        let fingerprint = fingerprint(&plan.matchup, plan.iterations, plan.seed);

        // Round trip 1: who is calling (a key lookup in API-key mode) and the cache lookup,
        // concurrently; neither depends on the other.
        let lookup = async {
            if plan.seed_supplied {
                self.store.cache_get(&fingerprint).await
            } else {
                Ok(None)
            }
        };
        let (actor, cached) = tokio::join!(
            auth::caller::<SIMULATE_ERRORS>(&self.settings, &self.store, req),
            lookup
        );
        let actor = actor?;
        let slot = Slot::Actor(actor.clone());
        let limit = Some(gate::api_rate_limit(&self.settings));
        let claim_with = |mode| {
            key.as_deref()
                .map(|key| gate::claim(&self.settings, SIMULATE_SCOPE, key, &canonical_body, mode))
        };

        // Round trip 2 on a hit: admission, storing the final response for the key at once.
        if let Some(json) = cached? {
            let body = self.result(&plan, &fingerprint, &json, false, 0.0)?;
            let claim = claim_with(IdempotencyMode::Store {
                status: 200,
                body: body.clone(),
            });
            if let Some((status, body)) =
                gate::admit(&self.settings, &self.store, &slot, limit, claim.as_ref()).await?
            {
                return Self::replay(status, &body);
            }
            telemetry::note_cache_hit(true);
            crate::metrics::record_cache("hit");
            return Ok(SimulateResponse::Ok(
                RenderedJson::new(body),
                "trickster-oracle; hit".into(),
            ));
        }

        // The miss path: admit (claiming the key), compute or wait, settle.
        let claim = claim_with(IdempotencyMode::Claim {
            lease_ms: self.settings.idempotency_lease_seconds * 1000,
        });
        if let Some((status, body)) =
            gate::admit(&self.settings, &self.store, &slot, limit, claim.as_ref()).await?
        {
            return Self::replay(status, &body);
        }
        let mut charge = Charge::default();
        let computed = self
            .compute_or_wait(&plan, &fingerprint, &actor, &mut charge)
            .await;
        let outcome = computed.and_then(|(json, cache)| {
            self.result(
                &plan,
                &fingerprint,
                &json,
                cache.computed(),
                charge.engine_ms,
            )
            .map(|result| (result, cache))
        });
        let (result, cache) = match outcome {
            Ok((result, cache)) => (Ok(result), Some(cache)),
            Err(err) => (Err(err), None),
        };
        self.settle(&actor, &charge, claim.as_ref(), &result)
            .await?;
        let result = result?;
        let cache = cache.unwrap_or(CacheOutcome::Stored);
        telemetry::note_cache_hit(!cache.computed());
        crate::metrics::record_cache(match cache {
            CacheOutcome::Hit => "hit",
            CacheOutcome::Collapsed => "collapsed",
            CacheOutcome::Stored => "miss",
        });
        let cache_status = match cache {
            CacheOutcome::Hit => "trickster-oracle; hit",
            CacheOutcome::Collapsed => "trickster-oracle; hit; collapsed",
            CacheOutcome::Stored => "trickster-oracle; fwd=miss; stored",
        };
        Ok(SimulateResponse::Ok(
            RenderedJson::new(result),
            cache_status.into(),
        ))
    }
}
