//! Elo + Monte Carlo match engine: numbers only (the words are in [`super::explain`]).
//!
//! # Model
//!
//! The rating difference seen by the home side is `μ = home_rating +
//! home_advantage − away_rating`. One simulated match draws a performance
//! margin `D ~ Logistic(μ, s)` with `s = 400 / ln 10`, the scale under which the
//! Elo expected score `1 / (1 + 10^(−μ/400))` is exactly the logistic CDF.
//! The home side wins if `D > T`, the away side wins if `D < −T`, otherwise the
//! match is drawn; `T = 400·log10(5/3) ≈ 88.74` makes the draw probability 0.25
//! for equal sides. The expected score of one match is
//! `m = 1 / (1 + 10^(−D/400))`.
//!
//! Three scenarios stretch the model: a scenario with scale multiplier `k` and
//! variance multiplier `v` samples with scale `s·k·√v` and uses the draw band
//! `k·T`. Expected-score statistics are only computed for the base scenario
//! (`k = v = 1`); the other scenarios report outcome probabilities.
//!
//! # Statistics
//!
//! * Quantiles use type 7 (linear interpolation between order statistics, the
//!   default in R and NumPy): with sorted values `x_0 ≤ … ≤ x_{n−1}` and
//!   `h = (n − 1)·p`, `q = x_⌊h⌋ + (h − ⌊h⌋)·(x_{⌊h⌋+1} − x_⌊h⌋)`.
//! * Moments are population moments: `mean = Σm/n`, `m_r = Σ(m − mean)^r / n`,
//!   `stdev = √m_2`, `skew = m_3 / m_2^1.5`, `kurtosis = m_4 / m_2² − 3`
//!   (excess); skew and kurtosis are 0 when `m_2 = 0`. The fast engine accumulates
//!   power sums of `m − elo` (shifted by the analytic Elo expected score, which
//!   is close to the mean, so the central moments do not suffer cancellation)
//!   per block and adds the block sums in order.
//! * The histogram has 20 equal bins on [0, 1]; a value `m` goes to bin
//!   `min(⌊20·m⌋, 19)`, so a value exactly on an inner edge belongs to the bin
//!   above it and `m = 1` belongs to the last bin.
//!
//! # Uncertainty
//!
//! The uncertainty score is `100·H/ln 3`, the Shannon entropy `H` of the simulated
//! (home, draw, away) probabilities normalised to [0, 100]. The draw band keeps every
//! outcome possible, so on realistic football ratings the score rarely falls below 60,
//! and the bands are calibrated on that range rather than split into thirds: `low` below
//! [`LOW_BELOW`] = 75 (in the closed form, the favourite wins at least 69.6 %), `medium`
//! below [`MEDIUM_BELOW`] = 93 (it wins more than 52.4 %), else `high`.
//!
//! The favourite is the side the closed form gives the higher win probability; the sides
//! are level (no favourite) when those probabilities differ by less than [`LEVEL_MARGIN`]
//! = 0.02, a rating difference, home advantage included, under about 7.4 points. Taking
//! it from the closed form makes it a property of the match, the same for every seed and
//! every number of iterations. The upset probability is `1 −` the favourite's simulated
//! win probability (with no favourite, `1 −` the larger simulated win probability).
//!
//! # Layout
//!
//! * `rng`: the random stream (SplitMix64, xoshiro256++, blocks, the uniform grid).
//! * `sample`: the per-sample definition and the statistics built on it.
//! * `closed_form`: closed-form probabilities, Wilson intervals, the uncertainty score.
//! * `search` and `fast`: the two-pass engine behind [`simulate`].
//! * [`reference`](mod@reference): the literal implementation the fast one is proven against.

#[cfg(test)]
mod calibration;
mod closed_form;
mod fast;
#[cfg(test)]
mod fixtures;
/// The straightforward engine the fast one is proven against (tests and benchmark only).
#[doc(hidden)]
pub mod reference;
mod rng;
mod sample;
mod search;

pub use closed_form::{analytic, favourite, risk, risk_band, uncertainty_score, wilson_interval};
pub use fast::simulate;

/// Version of the numbers: bump whenever the output for the same inputs could change.
pub const MODEL_VERSION: &str = "elo-logistic-mc/2";

/// Logistic scale `s = 400 / ln 10` of the margin.
pub const LOGISTIC_SCALE: f64 = 400.0 / std::f64::consts::LN_10;

/// Draw band `T = 400·log10(5/3)`, written as a literal so it does not depend
/// on the platform's `log10`.
pub const DRAW_BAND: f64 = 88.739_499_846_542_55;

/// Normal quantile for a two-sided 95 % interval.
pub const Z_95: f64 = 1.959_963_984_540_054;

/// Iterations per random-stream block (see the `rng` module).
pub const BLOCK_LEN: u64 = 1 << 16;

/// Number of equal-width expected-score histogram bins on [0, 1].
pub const HISTOGRAM_BINS: usize = 20;

/// Uncertainty scores below this are `low`.
pub const LOW_BELOW: f64 = 75.0;

/// Uncertainty scores below this (and at least [`LOW_BELOW`]) are `medium`.
pub const MEDIUM_BELOW: f64 = 93.0;

/// The sides are level when their closed-form win probabilities differ by less than this.
pub const LEVEL_MARGIN: f64 = 0.02;

/// Probabilities of the reported expected-score quantiles.
pub const QUANTILE_PROBS: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatchParams {
    pub home_rating: f64,
    pub away_rating: f64,
    pub home_advantage: f64,
}

impl MatchParams {
    /// Rating difference `μ` seen by the home side.
    pub fn rating_difference(&self) -> f64 {
        self.home_rating + self.home_advantage - self.away_rating
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Probabilities {
    pub home: f64,
    pub draw: f64,
    pub away: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub lower: f64,
    pub upper: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Intervals {
    pub home: Interval,
    pub draw: Interval,
    pub away: Interval,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub home: u64,
    pub draw: u64,
    pub away: u64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantiles {
    pub p5: f64,
    pub p25: f64,
    pub p50: f64,
    pub p75: f64,
    pub p95: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// 21 edges 0.0, 0.05, …, 1.0.
    pub edges: Vec<f64>,
    /// 20 counts; bin `i` is `[edges[i], edges[i + 1])`, the last bin also holds 1.0.
    pub counts: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedScore {
    /// Analytic Elo expected score `1 / (1 + 10^(−μ/400))`.
    pub elo: f64,
    pub mean: f64,
    /// Population standard deviation.
    pub stdev: f64,
    /// Population skewness `m_3 / m_2^1.5`.
    pub skew: f64,
    /// Population excess kurtosis `m_4 / m_2² − 3`.
    pub kurtosis: f64,
    pub quantiles: Quantiles,
    pub histogram: Histogram,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScenarioName {
    Conservative,
    Base,
    Aggressive,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scenario {
    pub name: ScenarioName,
    pub scale_multiplier: f64,
    pub variance_multiplier: f64,
}

impl Scenario {
    /// Logistic scale used for sampling: `s·k·√v`.
    pub fn sampling_scale(&self) -> f64 {
        LOGISTIC_SCALE * self.scale_multiplier * self.variance_multiplier.sqrt()
    }

    /// Draw band of the scenario: `k·T`.
    pub fn draw_band(&self) -> f64 {
        DRAW_BAND * self.scale_multiplier
    }
}

/// The scenarios, in reporting order. Index 1 is the base model.
pub const SCENARIOS: [Scenario; 3] = [
    Scenario {
        name: ScenarioName::Conservative,
        scale_multiplier: 0.8,
        variance_multiplier: 0.7,
    },
    Scenario {
        name: ScenarioName::Base,
        scale_multiplier: 1.0,
        variance_multiplier: 1.0,
    },
    Scenario {
        name: ScenarioName::Aggressive,
        scale_multiplier: 1.2,
        variance_multiplier: 1.3,
    },
];

/// Index of the base scenario in [`SCENARIOS`].
pub const BASE_SCENARIO: usize = 1;

#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioResult {
    pub name: ScenarioName,
    pub scale_multiplier: f64,
    pub variance_multiplier: f64,
    pub probabilities: Probabilities,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RiskBand {
    Low,
    Medium,
    High,
}

/// The side the model favours (see the module documentation for "level").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Favourite {
    Home,
    Away,
    /// The sides are level: neither is favoured.
    None,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Risk {
    /// 100 × Shannon entropy of the outcome probabilities / ln 3, in [0, 100].
    pub score: f64,
    pub band: RiskBand,
    /// Decided by the closed form, so it depends on the match only.
    pub favourite: Favourite,
    /// `1 −` the favourite's simulated win probability; with no favourite, `1 −` the
    /// larger of the two simulated win probabilities.
    pub upset_probability: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Simulation {
    pub iterations: u32,
    pub seed: u64,
    /// Outcome counts of the base scenario.
    pub counts: Counts,
    /// Base-scenario probabilities, `counts / iterations`.
    pub probabilities: Probabilities,
    /// Wilson score intervals with `z = 1.959963984540054`.
    pub intervals_95: Intervals,
    /// Closed-form probabilities of the base scenario.
    pub analytic: Probabilities,
    pub expected_score: ExpectedScore,
    /// Conservative, base and aggressive, in that order.
    pub scenarios: Vec<ScenarioResult>,
    pub risk: Risk,
}
