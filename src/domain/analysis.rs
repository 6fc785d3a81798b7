//! A complete analysis: the simulation and its explanation — everything a result holds
//! that depends only on the inputs (the API caches it as the JSON it serves).

use super::{engine, explain, matchup::Matchup};

#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    pub simulation: engine::Simulation,
    pub explanation: explain::Explanation,
}

/// Runs the engine and writes the explanation (CPU-bound; call it off the async reactor).
pub fn analyse(matchup: &Matchup, iterations: u32, seed: u64) -> Analysis {
    let simulation = engine::simulate(&matchup.params(), iterations, seed);
    let explanation = explain::explain(&matchup.home_team, &matchup.away_team, &simulation);
    Analysis {
        simulation,
        explanation,
    }
}
