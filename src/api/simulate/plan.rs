//! A simulation request checked and resolved into what the engine and the cache need: the
//! match (from the catalogue or inline), iterations, the seed (picked by the server when
//! absent) and the fingerprint.

use super::{
    SimError,
    wire::{MAX_SEED, SimulateRequest},
};
use crate::{
    api::error::ApiError,
    config::Settings,
    domain::{
        catalogue,
        fingerprint::fingerprint,
        matchup::{Matchup, MatchupInput},
    },
};

pub const DEFAULT_ITERATIONS: u32 = 10_000;
pub const MIN_ITERATIONS: u32 = 100;

/// A valid simulation request.
#[derive(Debug, Clone)]
pub struct Plan {
    pub matchup: Matchup,
    /// Set when the match came from the catalogue.
    pub event_id: Option<String>,
    pub iterations: u32,
    pub seed: u64,
    /// The client chose the seed (only then can the cache already hold the result).
    pub seed_supplied: bool,
    pub fingerprint: String,
}

impl Plan {
    pub fn new(request: &SimulateRequest, settings: &Settings) -> Result<Self, SimError> {
        let iterations = request.iterations.unwrap_or(DEFAULT_ITERATIONS);
        let max = settings.max_iterations;
        if !(MIN_ITERATIONS..=max).contains(&iterations) {
            return Err(ApiError::invalid(format!(
                "iterations: must be from {MIN_ITERATIONS} to {max}"
            )));
        }
        let (matchup, event_id) = match (&request.event_id, &request.event) {
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
                let input = MatchupInput {
                    home_team: &event.home_team,
                    away_team: &event.away_team,
                    home_rating: event.home_rating,
                    away_rating: event.away_rating,
                    home_advantage: event.home_advantage,
                    sport: event.sport.map(|s| s.as_str()),
                };
                let matchup = Matchup::parse(input, "event.")
                    .map_err(|err| ApiError::invalid(err.to_string()))?;
                (matchup, None)
            }
        };
        let (seed, seed_supplied) = match request.seed {
            Some(seed) if seed > MAX_SEED => {
                return Err(ApiError::invalid(format!(
                    "seed: must be from 0 to {MAX_SEED} (2^53 - 1, so every client can send it back exactly)"
                )));
            }
            Some(seed) => (seed, true),
            // Random bits below 2^53: a browser shows the seed it can send back.
            None => (uuid::Uuid::new_v4().as_u64_pair().0 & MAX_SEED, false),
        };
        Ok(Plan {
            fingerprint: fingerprint(&matchup, iterations, seed),
            matchup,
            event_id,
            iterations,
            seed,
            seed_supplied,
        })
    }
}
