//! Closed-form probabilities, Wilson intervals and the uncertainty score: everything the
//! engine reports that is a formula rather than a count.

use super::{Interval, MatchParams, Probabilities, Risk, RiskBand, Scenario, Z_95};

pub(super) fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Closed-form outcome probabilities of a scenario:
/// `P_home = σ((μ − kT)/(s·k·√v))`, `P_away = σ((−μ − kT)/(s·k·√v))`,
/// `P_draw = 1 − P_home − P_away`. For the base scenario this is
/// `P_home = 1/(1 + 10^((T − μ)/400))` and `P_away = 1/(1 + 10^((T + μ)/400))`.
pub fn analytic(params: &MatchParams, scenario: &Scenario) -> Probabilities {
    let mu = params.rating_difference();
    let scale = scenario.sampling_scale();
    let band = scenario.draw_band();
    let home = sigmoid((mu - band) / scale);
    let away = sigmoid((-mu - band) / scale);
    Probabilities {
        home,
        draw: 1.0 - home - away,
        away,
    }
}

/// Wilson score interval at 95 % for `successes` out of `n`.
///
/// Rounding could leave the estimate a hair outside the computed bounds at
/// `p = 0` or `p = 1`, so the bounds are clamped to contain it and to stay
/// within [0, 1]. With `n = 0` the interval is [0, 1].
pub fn wilson_interval(successes: u64, n: u64) -> Interval {
    if n == 0 {
        return Interval {
            lower: 0.0,
            upper: 1.0,
        };
    }
    let nf = n as f64;
    let p = successes.min(n) as f64 / nf;
    let z2 = Z_95 * Z_95;
    let denom = 1.0 + z2 / nf;
    let centre = (p + z2 / (2.0 * nf)) / denom;
    let half = Z_95 / denom * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt();
    Interval {
        lower: (centre - half).clamp(0.0, p),
        upper: (centre + half).clamp(p, 1.0),
    }
}

/// Band of an uncertainty score: low below 33, medium below 67, high otherwise.
pub fn risk_band(score: f64) -> RiskBand {
    if score < 33.0 {
        RiskBand::Low
    } else if score < 67.0 {
        RiskBand::Medium
    } else {
        RiskBand::High
    }
}

/// Uncertainty of an outcome distribution: `score = 100·H/ln 3` where
/// `H = −Σ p ln p` (with `0·ln 0 = 0`), clamped to [0, 100] against rounding.
pub fn risk(p: &Probabilities) -> Risk {
    let entropy: f64 = [p.home, p.draw, p.away]
        .into_iter()
        .filter(|&x| x > 0.0)
        .map(|x| -x * x.ln())
        .sum();
    let score = (100.0 * entropy / 3f64.ln()).clamp(0.0, 100.0);
    Risk {
        score,
        band: risk_band(score),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{
        BASE_SCENARIO, DRAW_BAND, LOGISTIC_SCALE, SCENARIOS,
        fixtures::{matches, params},
        simulate,
    };
    use super::*;

    #[test]
    fn closed_form_matches_elo_formulas() {
        let base = &SCENARIOS[BASE_SCENARIO];
        for (_, p) in matches() {
            let mu = p.rating_difference();
            let a = analytic(&p, base);
            let home = 1.0 / (1.0 + 10f64.powf((DRAW_BAND - mu) / 400.0));
            let away = 1.0 / (1.0 + 10f64.powf((DRAW_BAND + mu) / 400.0));
            assert!((a.home - home).abs() < 1e-12);
            assert!((a.away - away).abs() < 1e-12);
            assert!((a.home + a.draw + a.away - 1.0).abs() < 1e-12);
        }
        let even = analytic(&params(1500.0, 1500.0, 0.0), base);
        assert!((even.draw - 0.25).abs() < 1e-12);
        assert!((DRAW_BAND - 400.0 * (5.0f64 / 3.0).log10()).abs() < 1e-12);
        assert_eq!(base.sampling_scale(), LOGISTIC_SCALE);
    }

    #[test]
    fn wilson_intervals_contain_estimate_and_stay_in_unit_interval() {
        for n in [1u64, 2, 10, 100, 1_000, 1_000_000] {
            for x in [0, 1, n / 3, n / 2, n.saturating_sub(1), n] {
                let i = wilson_interval(x, n);
                let p = x as f64 / n as f64;
                assert!(0.0 <= i.lower && i.lower <= p, "{x}/{n}: {i:?}");
                assert!(p <= i.upper && i.upper <= 1.0, "{x}/{n}: {i:?}");
            }
        }
        assert_eq!(wilson_interval(0, 100).lower, 0.0);
        assert_eq!(wilson_interval(100, 100).upper, 1.0);
        assert!(wilson_interval(0, 100).upper > 0.0);
        assert!(wilson_interval(100, 100).lower < 1.0);
        let i = wilson_interval(50, 100);
        assert!((i.lower - 0.4038).abs() < 1e-4 && (i.upper - 0.5962).abs() < 1e-4);
        let sim = simulate(&params(3000.0, 0.0, 300.0), 1_000, 1);
        assert_eq!(sim.counts.home, 1_000);
        assert_eq!(sim.intervals_95.home.upper, 1.0);
        assert_eq!(sim.intervals_95.away.lower, 0.0);
    }

    #[test]
    fn risk_bands_follow_the_boundaries() {
        assert_eq!(risk_band(0.0), RiskBand::Low);
        assert_eq!(risk_band(32.99), RiskBand::Low);
        assert_eq!(risk_band(33.0), RiskBand::Medium);
        assert_eq!(risk_band(66.99), RiskBand::Medium);
        assert_eq!(risk_band(67.0), RiskBand::High);
        assert_eq!(risk_band(100.0), RiskBand::High);
    }

    #[test]
    fn risk_score_is_normalised_entropy() {
        let third = 1.0 / 3.0;
        let even = risk(&Probabilities {
            home: third,
            draw: third,
            away: third,
        });
        assert!((even.score - 100.0).abs() < 1e-9);
        assert_eq!(even.band, RiskBand::High);
        let certain = risk(&Probabilities {
            home: 1.0,
            draw: 0.0,
            away: 0.0,
        });
        assert_eq!(certain.score, 0.0);
        assert_eq!(certain.band, RiskBand::Low);

        // Distributions (p, (1 − p)/2, (1 − p)/2) whose scores straddle the
        // boundaries; the score falls from 100 to 0 as p goes from 1/3 to 1.
        let score_of = |p: f64| {
            let rest = (1.0 - p) / 2.0;
            risk(&Probabilities {
                home: p,
                draw: rest,
                away: rest,
            })
        };
        let boundary = |target: f64| {
            let (mut lo, mut hi) = (third, 1.0);
            for _ in 0..200 {
                let mid = 0.5 * (lo + hi);
                if score_of(mid).score > target {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            lo
        };
        for (target, below, above) in [
            (33.0, RiskBand::Low, RiskBand::Medium),
            (67.0, RiskBand::Medium, RiskBand::High),
        ] {
            let p = boundary(target);
            let near_above = score_of(p - 1e-6);
            let near_below = score_of(p + 1e-6);
            assert!(near_above.score > target && near_above.score < target + 0.01);
            assert!(near_below.score < target && near_below.score > target - 0.01);
            assert_eq!(near_above.band, above);
            assert_eq!(near_below.band, below);
        }
    }
}
