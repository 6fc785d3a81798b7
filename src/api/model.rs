//! The JSON shapes of the simulation API, as described in the OpenAPI document.
//!
//! They mirror the domain types field for field; the `From` impls are the only place the two
//! meet, so the domain stays free of HTTP concerns.

use poem_openapi::{Enum, Object};

use crate::domain::{engine, explain, matchup::Matchup};

/// Defines a wire type that mirrors a domain type field for field (or variant for variant)
/// together with its conversion, so each mirror is written once.
macro_rules! mirror {
    ($(#[$meta:meta])* struct $name:ident from $($source:ident)::+ {
        $($(#[$field_meta:meta])* $field:ident : $ty:ty),+ $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Object)]
        pub struct $name {
            $($(#[$field_meta])* pub $field: $ty),+
        }

        impl From<$($source)::+> for $name {
            fn from(value: $($source)::+) -> Self {
                Self { $($field: value.$field.into()),+ }
            }
        }
    };
    ($(#[$meta:meta])* enum $name:ident from $($source:ident)::+ { $($variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, Enum)]
        #[oai(rename_all = "snake_case")]
        pub enum $name {
            $($variant),+
        }

        impl From<$($source)::+> for $name {
            fn from(value: $($source)::+) -> Self {
                use $($source)::+ as Source;
                match value {
                    $(Source::$variant => Self::$variant),+
                }
            }
        }
    };
}
pub(crate) use mirror;

mirror! {
    /// Home / draw / away probabilities.
    struct Probabilities from engine::Probabilities { home: f64, draw: f64, away: f64 }
}

mirror! {
    /// A 95 % Wilson score interval.
    struct Interval from engine::Interval { lower: f64, upper: f64 }
}

mirror! {
    /// Wilson score intervals of the Monte Carlo probabilities.
    struct Intervals from engine::Intervals { home: Interval, draw: Interval, away: Interval }
}

mirror! {
    /// Quantiles of the per-iteration expected score (linear interpolation, "type 7").
    struct Quantiles from engine::Quantiles { p5: f64, p25: f64, p50: f64, p75: f64, p95: f64 }
}

mirror! {
    /// 20 equal bins on [0, 1].
    struct Histogram from engine::Histogram {
        /// 21 bin edges, 0 to 1.
        edges: Vec<f64>,
        /// 20 counts; they sum to `iterations`.
        counts: Vec<u64>,
    }
}

mirror! {
    /// Statistics of the expected score `m = 1 / (1 + 10^(−D/400))` over the iterations.
    struct ExpectedScore from engine::ExpectedScore {
        /// The closed-form Elo expected score of the home side.
        elo: f64,
        mean: f64,
        /// Population standard deviation.
        stdev: f64,
        /// Population skewness.
        skew: f64,
        /// Population excess kurtosis.
        kurtosis: f64,
        quantiles: Quantiles,
        histogram: Histogram,
    }
}

mirror! {
    /// Name of a model scenario.
    enum ScenarioName from engine::ScenarioName { Conservative, Base, Aggressive }
}

mirror! {
    /// One scenario: the model with its scale and variance changed.
    struct Scenario from engine::ScenarioResult {
        name: ScenarioName,
        scale_multiplier: f64,
        variance_multiplier: f64,
        probabilities: Probabilities,
    }
}

mirror! {
    /// Uncertainty band of the outcome distribution.
    enum RiskBand from engine::RiskBand { Low, Medium, High }
}

mirror! {
    /// The side the model favours, or `none` when the two sides are level.
    enum Favourite from engine::Favourite { Home, Away, None }
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
            band: r.band.into(),
            favourite: r.favourite.into(),
            upset_probability: r.upset_probability,
            rationale: explain::rationale(&r),
        }
    }
}

mirror! {
    /// One outcome explained.
    struct OutcomeNote from explain::OutcomeNote {
        /// `home_win`, `draw` or `away_win`.
        name: String,
        probability: f64,
        description: String,
    }
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
            scenarios: e.scenarios.into_iter().map(Into::into).collect(),
            caveats: e.caveats,
        }
    }
}

// Also `Serialize`: a cache hit renders it straight to text, without a tree of JSON values.
/// The match that was simulated, with defaults filled in.
#[derive(Debug, Clone, Object, serde::Serialize)]
pub struct EventView {
    /// Set when the match came from the catalogue.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
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
