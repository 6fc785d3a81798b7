//! The catalogue and `POST /api/simulate`: validation, fingerprint, cache with single flight,
//! and the engine on a bounded pool of blocking threads.

use std::{sync::Arc, time::Instant};

use poem_openapi::{ApiResponse, Object, OpenApi, param::Header, payload::Json, types::Example};
use serde::Deserialize;
use tokio::sync::Semaphore;
use tracing::Instrument;

use super::{
    ApiTags,
    error::{ApiError, doc},
    json::Validated,
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
        Store,
        cache::{CacheOutcome, CachePolicy},
    },
    telemetry,
};

pub const DEFAULT_ITERATIONS: u32 = 10_000;
pub const MIN_ITERATIONS: u32 = 100;

/// Errors `POST /api/simulate` documents.
const SIMULATE_ERRORS: u32 = doc::BASE | doc::BODY | doc::UNAUTHORIZED | doc::NOT_FOUND;

pub struct SimulateApi {
    pub settings: Arc<Settings>,
    pub store: Store,
    /// Bounds concurrent engine runs to the CPU count: excess requests wait their turn
    /// asynchronously instead of oversubscribing the cores.
    pub engine_slots: Arc<Semaphore>,
}

/// A match described inline.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    /// 1–64 characters after trimming; echoed as given in the explanation.
    pub home_team: String,
    /// 1–64 characters after trimming.
    pub away_team: String,
    /// Elo rating, 0–3000.
    pub home_rating: f64,
    /// Elo rating, 0–3000.
    pub away_rating: f64,
    /// Elo points added to the home side, 0–300 (default 100).
    pub home_advantage: Option<f64>,
    /// Only `football` (the default) is modelled.
    pub sport: Option<String>,
}

/// Exactly one of `event_id` (from `GET /api/events`) or `event` (inline).
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(deny_unknown_fields, example)]
#[serde(deny_unknown_fields)]
pub struct SimulateRequest {
    /// A catalogue id such as `demo_001`.
    pub event_id: Option<String>,
    /// An inline match.
    pub event: Option<EventInput>,
    /// Monte Carlo iterations, from 100 to `MAX_ITERATIONS` (default 10 000).
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

/// The analysis of one match.
#[derive(Debug, Clone, Object)]
pub struct SimulationResult {
    pub event: EventView,
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
    pub meta: SimulationMeta,
}

#[derive(ApiResponse)]
pub enum SimulateResponse {
    /// The analysis (computed, or from the cache).
    #[oai(status = 200)]
    Ok(
        Json<SimulationResult>,
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
pub struct Catalogue {
    pub events: Vec<CatalogueEntry>,
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
                        sport: event.sport.as_deref(),
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
    /// analysis as the JSON the cache stores, with the engine time.
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
            serde_json::to_string(&analysis).map(|json| (json, elapsed.as_secs_f64() * 1e3))
        })
        .await;
        match joined {
            Ok(Ok(done)) => Ok(done),
            Ok(Err(err)) => {
                tracing::error!(error = %err, "analysis could not be serialised");
                Err(ApiError::internal())
            }
            Err(err) => {
                tracing::error!(error = %err, "engine task failed");
                Err(ApiError::internal())
            }
        }
    }
}

fn actor_from_header(value: Option<&str>) -> Result<String, ApiError<SIMULATE_ERRORS>> {
    let scheme = "X-Actor-ID";
    match value {
        Some(actor)
            if (1..=64).contains(&actor.len())
                && actor
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b)) =>
        {
            Ok(actor.to_owned())
        }
        Some(_) => Err(ApiError::unauthorized(
            "X-Actor-ID must be 1-64 characters from A-Z a-z 0-9 . _ : -",
            scheme,
        )),
        None => Err(ApiError::unauthorized(
            "The X-Actor-ID header identifies the caller and is required.",
            scheme,
        )),
    }
}

#[OpenApi(tag = "ApiTags::Simulation")]
impl SimulateApi {
    /// List the built-in sample matches.
    #[oai(path = "/api/events", method = "get")]
    async fn events(&self) -> Result<Json<Catalogue>, ApiError<{ doc::BASE }>> {
        let events = catalogue::EVENTS
            .iter()
            .map(|e| CatalogueEntry {
                event_id: e.id.into(),
                competition: e.competition.into(),
                home_team: e.home_team.into(),
                away_team: e.away_team.into(),
                home_rating: e.home_rating,
                away_rating: e.away_rating,
                home_advantage: e.home_advantage,
                sport: crate::domain::matchup::DEFAULT_SPORT.into(),
                note: e.note.into(),
            })
            .collect();
        Ok(Json(Catalogue { events }))
    }

    /// Simulate a match (or fetch the identical simulation from the cache).
    ///
    /// Monte Carlo estimate of home / draw / away probabilities under an Elo model with a
    /// draw band, with Wilson intervals, the closed form, expected-score statistics, three
    /// scenarios, an uncertainty score and a plain-language explanation.
    #[oai(path = "/api/simulate", method = "post")]
    async fn simulate(
        &self,
        /// The caller (header authentication mode).
        #[oai(name = "X-Actor-ID")]
        actor: Header<Option<String>>,
        body: Json<Validated<SimulateRequest>>,
    ) -> Result<SimulateResponse, ApiError<SIMULATE_ERRORS>> {
        let actor = actor_from_header(actor.0.as_deref())?;
        telemetry::note_actor(&actor);
        let plan = self.plan(body.0.0)?;
        let fingerprint = fingerprint(&plan.matchup, plan.iterations, plan.seed);
        let policy = CachePolicy {
            ttl_seconds: self.settings.cache_ttl_seconds,
            max_wait: self.settings.cache_wait,
        };

        let mut engine_ms = 0.0;
        let (json, outcome) = if plan.seed_supplied {
            self.store
                .cache_fetch_or_compute(&fingerprint, policy, || async {
                    let (json, ms) = self.compute(&plan).await?;
                    engine_ms = ms;
                    Ok::<_, ApiError<SIMULATE_ERRORS>>(json)
                })
                .instrument(tracing::Span::current())
                .await?
        } else {
            // A fresh seed cannot be in the cache; store the result so that repeating the
            // request with the returned seed is a hit.
            let (json, ms) = self.compute(&plan).await?;
            engine_ms = ms;
            self.store
                .cache_store(&fingerprint, "", &json, policy.ttl_seconds)
                .await?;
            (json, CacheOutcome::Stored)
        };
        let analysis: Analysis = serde_json::from_str(&json).map_err(|err| {
            tracing::error!(error = %err, "cached analysis is unreadable");
            ApiError::internal()
        })?;

        let cache_hit = !outcome.computed();
        telemetry::note_cache_hit(cache_hit);
        crate::metrics::record_cache(match outcome {
            CacheOutcome::Hit => "hit",
            CacheOutcome::Collapsed => "collapsed",
            CacheOutcome::Stored => "miss",
        });
        let cache_status = match outcome {
            CacheOutcome::Hit => "trickster-oracle; hit",
            CacheOutcome::Collapsed => "trickster-oracle; hit; collapsed",
            CacheOutcome::Stored => "trickster-oracle; fwd=miss; stored",
        };
        let cost_tokens = if outcome.computed() {
            self.settings.simulation_cost
        } else {
            0
        };
        let sim = analysis.simulation;
        let result = SimulationResult {
            event: EventView::new(&plan.matchup, plan.event_id.as_deref()),
            iterations: sim.iterations,
            seed: sim.seed,
            probabilities: sim.probabilities.into(),
            intervals_95: sim.intervals_95.into(),
            analytic: sim.analytic.into(),
            expected_score: sim.expected_score.into(),
            scenarios: sim.scenarios.into_iter().map(Into::into).collect(),
            risk: sim.risk.into(),
            explanation: analysis.explanation.into(),
            meta: SimulationMeta {
                request_id: telemetry::RequestContext::current().request_id,
                fingerprint,
                cache_hit,
                idempotency_replay: false,
                model_version: MODEL_VERSION.into(),
                cost_tokens,
                engine_ms: (engine_ms * 1e3).round() / 1e3,
            },
        };
        Ok(SimulateResponse::Ok(Json(result), cache_status.into()))
    }
}
