//! The JSON shapes of the simulation routes, as the OpenAPI document describes them: the
//! request, the result and its metadata, the catalogue. Request types derive both `Object`
//! (the document) and `Deserialize` (parsing that names the failing field, see `api::json`).

use poem_openapi::{ApiResponse, Enum, Object, Union, types::Example};
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub home_advantage: Option<f64>,
    /// The sport (default `football`, the only one the model is calibrated for).
    #[serde(skip_serializing_if = "Option::is_none")]
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

/// The largest seed: 2^53 − 1, the largest integer a JSON number keeps exactly in every
/// client (JavaScript's `Number.MAX_SAFE_INTEGER`), so any seed can be sent back as shown.
pub const MAX_SEED: u64 = (1 << 53) - 1;

/// A simulation request as parsed: exactly one of `event_id` or `event` (checked by the
/// plan). The document describes it as two schemas ([`SimulateRequestDoc`]).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SimulateRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<EventInput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iterations: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

/// A catalogue match by id.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields)]
pub struct CatalogueSimulation {
    /// A catalogue id such as `demo_001` (`GET /api/events` lists them).
    pub event_id: String,
    /// Monte Carlo iterations, from 100 to `MAX_ITERATIONS` (default 10 000).
    #[oai(validator(minimum(value = "100")))]
    pub iterations: Option<u32>,
    /// Seed of the random stream, 0 to 2^53 − 1. Omitted: the server picks one and returns
    /// it. The same inputs and seed always give bit-identical numbers, and are served from
    /// the cache.
    pub seed: Option<u64>,
}

/// A match described inline.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields)]
pub struct InlineSimulation {
    pub event: EventInput,
    /// Monte Carlo iterations, from 100 to `MAX_ITERATIONS` (default 10 000).
    #[oai(validator(minimum(value = "100")))]
    pub iterations: Option<u32>,
    /// Seed of the random stream, 0 to 2^53 − 1. Omitted: the server picks one and returns
    /// it. The same inputs and seed always give bit-identical numbers, and are served from
    /// the cache.
    pub seed: Option<u64>,
}

/// A simulation request: a catalogue match (`event_id`) or an inline match (`event`).
#[derive(Debug, Clone, Union)]
#[oai(one_of, rename = "SimulateRequest")]
pub enum SimulateRequestDoc {
    Catalogue(CatalogueSimulation),
    Inline(InlineSimulation),
}

impl SimulateRequest {
    /// The two examples of the document: a catalogue match and the same match inline.
    pub fn examples() -> [(&'static str, &'static str, Self); 2] {
        let event = catalogue::find("demo_001").expect("demo_001 is in the catalogue");
        [
            (
                "catalogue",
                "A catalogue match by id",
                Self {
                    event_id: Some(event.id.into()),
                    event: None,
                    iterations: Some(10_000),
                    seed: Some(42),
                },
            ),
            (
                "inline",
                "The same match described inline (same fingerprint, same numbers)",
                Self {
                    event_id: None,
                    event: Some(EventInput {
                        home_team: event.home_team.into(),
                        away_team: event.away_team.into(),
                        home_rating: event.home_rating,
                        away_rating: event.away_rating,
                        home_advantage: Some(event.home_advantage),
                        sport: Some(Sport::Football),
                    }),
                    iterations: Some(10_000),
                    seed: Some(42),
                },
            ),
        ]
    }
}

// Also `Serialize`: every answer renders it straight to text, without a tree of JSON values.
/// How this response was produced.
#[derive(Debug, Clone, Object, Serialize)]
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

#[derive(ApiResponse)]
pub enum EventsResponse {
    /// The catalogue.
    #[oai(status = 200)]
    Ok(
        RenderedJson<Catalogue>,
        /// Changes only with the service's version.
        #[oai(header = "ETag")]
        String,
    ),
    /// The catalogue is the one whose `ETag` was sent in `If-None-Match`.
    #[oai(status = 304)]
    NotModified(#[oai(header = "ETag")] String),
}

/// A catalogue match.
#[derive(Debug, Clone, Object)]
pub struct CatalogueEntry {
    #[oai(flatten)]
    pub event: EventView,
    pub competition: String,
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
        event: EventView::new(&e.matchup(), Some(e.id)),
        competition: e.competition.into(),
        note: e.note.into(),
    }
}
