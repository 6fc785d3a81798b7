//! The JSON shapes of the simulation API, as described in the OpenAPI document.
//!
//! They mirror the domain types field for field; the `From` impls are the only place the two
//! meet, so the domain stays free of HTTP concerns.

use poem_openapi::{Enum, Object};

use crate::domain::{engine, explain, matchup::Matchup};

/// Home / draw / away probabilities.
#[derive(Debug, Clone, Object)]
pub struct Probabilities {
    pub home: f64,
    pub draw: f64,
    pub away: f64,
}

impl From<engine::Probabilities> for Probabilities {
    fn from(p: engine::Probabilities) -> Self {
        Self {
            home: p.home,
            draw: p.draw,
            away: p.away,
        }
    }
}

/// A 95 % Wilson score interval.
#[derive(Debug, Clone, Object)]
pub struct Interval {
    pub lower: f64,
    pub upper: f64,
}

impl From<engine::Interval> for Interval {
    fn from(i: engine::Interval) -> Self {
        Self {
            lower: i.lower,
            upper: i.upper,
        }
    }
}

/// Wilson score intervals of the Monte Carlo probabilities.
#[derive(Debug, Clone, Object)]
pub struct Intervals {
    pub home: Interval,
    pub draw: Interval,
    pub away: Interval,
}

impl From<engine::Intervals> for Intervals {
    fn from(i: engine::Intervals) -> Self {
        Self {
            home: i.home.into(),
            draw: i.draw.into(),
            away: i.away.into(),
        }
    }
}

/// Quantiles of the per-iteration expected score (linear interpolation, "type 7").
#[derive(Debug, Clone, Object)]
pub struct Quantiles {
    pub p5: f64,
    pub p25: f64,
    pub p50: f64,
    pub p75: f64,
    pub p95: f64,
}

/// 20 equal bins on [0, 1].
#[derive(Debug, Clone, Object)]
pub struct Histogram {
    /// 21 bin edges, 0 to 1.
    pub edges: Vec<f64>,
    /// 20 counts; they sum to `iterations`.
    pub counts: Vec<u64>,
}

/// Statistics of the expected score `m = 1 / (1 + 10^(−D/400))` over the iterations.
#[derive(Debug, Clone, Object)]
pub struct ExpectedScore {
    /// The closed-form Elo expected score of the home side.
    pub elo: f64,
    pub mean: f64,
    /// Population standard deviation.
    pub stdev: f64,
    /// Population skewness.
    pub skew: f64,
    /// Population excess kurtosis.
    pub kurtosis: f64,
    pub quantiles: Quantiles,
    pub histogram: Histogram,
}

impl From<engine::ExpectedScore> for ExpectedScore {
    fn from(e: engine::ExpectedScore) -> Self {
        let q = e.quantiles;
        Self {
            elo: e.elo,
            mean: e.mean,
            stdev: e.stdev,
            skew: e.skew,
            kurtosis: e.kurtosis,
            quantiles: Quantiles {
                p5: q.p5,
                p25: q.p25,
                p50: q.p50,
                p75: q.p75,
                p95: q.p95,
            },
            histogram: Histogram {
                edges: e.histogram.edges,
                counts: e.histogram.counts,
            },
        }
    }
}

/// Name of a model scenario.
#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ScenarioName {
    Conservative,
    Base,
    Aggressive,
}

/// One scenario: the model with its scale and variance changed.
#[derive(Debug, Clone, Object)]
pub struct Scenario {
    pub name: ScenarioName,
    pub scale_multiplier: f64,
    pub variance_multiplier: f64,
    pub probabilities: Probabilities,
}

impl From<engine::ScenarioResult> for Scenario {
    fn from(s: engine::ScenarioResult) -> Self {
        Self {
            name: match s.name {
                engine::ScenarioName::Conservative => ScenarioName::Conservative,
                engine::ScenarioName::Base => ScenarioName::Base,
                engine::ScenarioName::Aggressive => ScenarioName::Aggressive,
            },
            scale_multiplier: s.scale_multiplier,
            variance_multiplier: s.variance_multiplier,
            probabilities: s.probabilities.into(),
        }
    }
}

/// Uncertainty band of the outcome distribution.
#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "snake_case")]
pub enum RiskBand {
    Low,
    Medium,
    High,
}

/// The side the model favours, or `none` when the two sides are level.
#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "snake_case")]
pub enum Favourite {
    Home,
    Away,
    None,
}

/// How uncertain the outcome is, and how often the favourite fails to win.
#[derive(Debug, Clone, Object)]
pub struct Risk {
    /// 100 × normalised Shannon entropy of the simulated (home, draw, away): 0 (one certain
    /// outcome) to 100 (all three equally likely). On real football it rarely falls below 60.
    pub score: f64,
    /// Calibrated on football: `low` below 75 (the favourite wins about 7 matches in 10 or
    /// more), `medium` below 93, else `high` (the favourite wins about half the time or
    /// less).
    pub band: RiskBand,
    /// The side with the higher win probability in the model's exact formula (`analytic`);
    /// `none` when the two exact win probabilities differ by less than 0.02 (a rating
    /// difference, home advantage included, under about 7.4 points). It depends on the
    /// match only, never on the seed or the number of iterations.
    pub favourite: Favourite,
    /// 1 − the favourite's simulated win probability: the share of simulated matches it
    /// draws or loses. With `favourite: none`, 1 − the larger of the two simulated win
    /// probabilities.
    pub upset_probability: f64,
    /// What the band means, in words, and how often the favourite wins.
    pub rationale: String,
}

impl From<engine::Risk> for Risk {
    fn from(r: engine::Risk) -> Self {
        Self {
            score: r.score,
            band: match r.band {
                engine::RiskBand::Low => RiskBand::Low,
                engine::RiskBand::Medium => RiskBand::Medium,
                engine::RiskBand::High => RiskBand::High,
            },
            favourite: match r.favourite {
                engine::Favourite::Home => Favourite::Home,
                engine::Favourite::Away => Favourite::Away,
                engine::Favourite::None => Favourite::None,
            },
            upset_probability: r.upset_probability,
            rationale: explain::rationale(&r),
        }
    }
}

/// One outcome explained.
#[derive(Debug, Clone, Object)]
pub struct OutcomeNote {
    /// `home_win`, `draw` or `away_win`.
    pub name: String,
    pub probability: f64,
    pub description: String,
}

/// Plain-language, educational reading of the numbers.
#[derive(Debug, Clone, Object)]
pub struct Explanation {
    pub summary: String,
    pub scenarios: Vec<OutcomeNote>,
    pub caveats: Vec<String>,
}

impl From<explain::Explanation> for Explanation {
    fn from(e: explain::Explanation) -> Self {
        Self {
            summary: e.summary,
            scenarios: e
                .scenarios
                .into_iter()
                .map(|n| OutcomeNote {
                    name: n.name,
                    probability: n.probability,
                    description: n.description,
                })
                .collect(),
            caveats: e.caveats,
        }
    }
}

/// The match that was simulated, with defaults filled in.
#[derive(Debug, Clone, Object)]
pub struct EventView {
    /// Set when the match came from the catalogue.
    #[oai(skip_serializing_if_is_none)]
    pub event_id: Option<String>,
    pub home_team: String,
    pub away_team: String,
    pub home_rating: f64,
    pub away_rating: f64,
    pub home_advantage: f64,
    pub sport: String,
}

impl EventView {
    pub fn new(matchup: &Matchup, event_id: Option<&str>) -> Self {
        Self {
            event_id: event_id.map(str::to_owned),
            home_team: matchup.home_team.clone(),
            away_team: matchup.away_team.clone(),
            home_rating: matchup.home_rating,
            away_rating: matchup.away_rating,
            home_advantage: matchup.home_advantage,
            sport: matchup.sport.clone(),
        }
    }
}
