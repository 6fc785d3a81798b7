//! The JSON shapes of the simulation routes, as the OpenAPI document describes them: the
//! request, the result and its metadata, the catalogue. Request types derive both `Object`
//! (the document) and `Deserialize` (parsing that names the failing field, see `api::json`).

use poem_openapi::{ApiResponse, Enum, Object, types::Example};
use serde::{Deserialize, Serialize};

use crate::{
    api::{
        json::RenderedJson,
        model::{EventView, ExpectedScore, Explanation, Intervals, Probabilities, Risk, Scenario},
    },
    domain::{
        analysis::{Analysis, analyse},
        catalogue,
        engine::MODEL_VERSION,
        fingerprint::fingerprint,
    },
};

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
    pub fn as_str(self) -> &'static str {
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
    pub fn new(analysis: Analysis) -> Self {
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

pub fn catalogue_entry(e: &catalogue::CatalogueEvent) -> CatalogueEntry {
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
