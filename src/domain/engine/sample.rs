//! The per-sample definition and the statistics built on it, shared by the fast engine and
//! the reference implementation.
//!
//! A sample's margin is `D = μ + s'·ln(u / (1 − u))` ([`margin`]) and its
//! expected score is `1 / (1 + 10^(−D/400))` ([`expected_score_of_margin`]),
//! evaluated in `f64`. The reference implementation does exactly that for every
//! sample; the fast engine reproduces its classification, histogram and quantiles
//! bit for bit without doing so. (This relies on `ln` and `powf` being monotone
//! at the scale of one ulp, which holds for the platform maths libraries in
//! use; the tests compare both implementations directly.)

use super::{
    BASE_SCENARIO, Counts, ExpectedScore, HISTOGRAM_BINS, Histogram, Intervals, MatchParams,
    Probabilities, QUANTILE_PROBS, Quantiles, SCENARIOS, ScenarioResult, Simulation,
    closed_form::{analytic, risk, wilson_interval},
};

/// Margin `D = μ + scale·ln(u / (1 − u))` of a sample with uniform `u`.
#[inline]
pub(super) fn margin(mu: f64, scale: f64, u: f64) -> f64 {
    mu + scale * (u / (1.0 - u)).ln()
}

/// Expected score `1 / (1 + 10^(−D/400))` of a margin.
#[inline]
pub(super) fn expected_score_of_margin(d: f64) -> f64 {
    1.0 / (1.0 + 10f64.powf(-d / 400.0))
}

/// Histogram bin of an expected score: `min(⌊20·m⌋, 19)`.
#[inline]
pub(super) fn histogram_bin(m: f64) -> usize {
    ((m * HISTOGRAM_BINS as f64).floor() as usize).min(HISTOGRAM_BINS - 1)
}

/// Edges 0.0, 0.05, …, 1.0 of the histogram.
pub(super) fn histogram_edges() -> Vec<f64> {
    (0..=HISTOGRAM_BINS)
        .map(|j| j as f64 / HISTOGRAM_BINS as f64)
        .collect()
}

/// Type 7 quantiles from a function returning the order statistic of a rank.
pub(super) fn quantiles_with(n: u64, mut order_stat: impl FnMut(u64) -> f64) -> Quantiles {
    let [p5, p25, p50, p75, p95] = QUANTILE_PROBS.map(|p| {
        let h = (n - 1) as f64 * p;
        let lo = h.floor();
        let frac = h - lo;
        let lo = lo as u64;
        let a = order_stat(lo);
        let b = order_stat((lo + 1).min(n - 1));
        a + frac * (b - a)
    });
    Quantiles {
        p5,
        p25,
        p50,
        p75,
        p95,
    }
}

/// Ranks (0-based) of the order statistics needed by [`quantiles_with`].
pub(super) fn quantile_ranks(n: u64) -> impl Iterator<Item = u64> {
    QUANTILE_PROBS.into_iter().flat_map(move |p| {
        let lo = ((n - 1) as f64 * p).floor() as u64;
        [lo, (lo + 1).min(n - 1)]
    })
}

/// Population mean, stdev, skew and excess kurtosis from central moments.
pub(super) fn shape(mean: f64, m2: f64, m3: f64, m4: f64) -> (f64, f64, f64, f64) {
    if m2 > 0.0 {
        (mean, m2.sqrt(), m3 / (m2 * m2.sqrt()), m4 / (m2 * m2) - 3.0)
    } else {
        (mean, 0.0, 0.0, 0.0)
    }
}

impl ExpectedScore {
    /// The statistics from their parts: the Elo expectation, the moments as [`shape`] gives
    /// them, the quantiles and the histogram counts (on the standard edges).
    pub(super) fn from_parts(
        elo: f64,
        (mean, stdev, skew, kurtosis): (f64, f64, f64, f64),
        quantiles: Quantiles,
        counts: Vec<u64>,
    ) -> Self {
        Self {
            elo,
            mean,
            stdev,
            skew,
            kurtosis,
            quantiles,
            histogram: Histogram {
                edges: histogram_edges(),
                counts,
            },
        }
    }
}

/// Builds the output shared by both implementations from the per-scenario
/// counts (in [`SCENARIOS`] order) and the expected-score statistics.
pub(super) fn assemble(
    params: &MatchParams,
    iterations: u32,
    seed: u64,
    scenario_counts: [Counts; 3],
    expected_score: ExpectedScore,
) -> Simulation {
    let n = u64::from(iterations);
    let ratio = |c: &Counts| Probabilities {
        home: c.home as f64 / n as f64,
        draw: c.draw as f64 / n as f64,
        away: c.away as f64 / n as f64,
    };
    let counts = scenario_counts[BASE_SCENARIO];
    let probabilities = ratio(&counts);
    let exact = analytic(params, &SCENARIOS[BASE_SCENARIO]);
    let scenarios = SCENARIOS
        .iter()
        .zip(&scenario_counts)
        .map(|(sc, c)| ScenarioResult {
            name: sc.name,
            scale_multiplier: sc.scale_multiplier,
            variance_multiplier: sc.variance_multiplier,
            probabilities: ratio(c),
        })
        .collect();
    Simulation {
        iterations,
        seed,
        counts,
        probabilities,
        intervals_95: Intervals {
            home: wilson_interval(counts.home, n),
            draw: wilson_interval(counts.draw, n),
            away: wilson_interval(counts.away, n),
        },
        analytic: exact,
        expected_score,
        scenarios,
        risk: risk(&counts, &exact),
    }
}
