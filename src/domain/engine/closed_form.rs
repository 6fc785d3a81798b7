//! Closed-form probabilities, Wilson intervals and the uncertainty score: everything the
//! engine reports that is a formula rather than a count.

use super::{
    Counts, Favourite, Interval, LEVEL_MARGIN, LOW_BELOW, MEDIUM_BELOW, MatchParams, Probabilities,
    Risk, RiskBand, Scenario, Z_95,
};

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

/// Band of an uncertainty score: low below [`LOW_BELOW`], medium below [`MEDIUM_BELOW`],
/// high otherwise.
pub fn risk_band(score: f64) -> RiskBand {
    if score < LOW_BELOW {
        RiskBand::Low
    } else if score < MEDIUM_BELOW {
        RiskBand::Medium
    } else {
        RiskBand::High
    }
}

/// The favoured side from closed-form probabilities: the one with the higher win
/// probability, unless the two differ by less than [`LEVEL_MARGIN`].
pub fn favourite(exact: &Probabilities) -> Favourite {
    let lead = exact.home - exact.away;
    if lead.abs() < LEVEL_MARGIN {
        Favourite::None
    } else if lead > 0.0 {
        Favourite::Home
    } else {
        Favourite::Away
    }
}

/// Uncertainty score of an outcome distribution: `100·H/ln 3` where `H = −Σ p ln p`
/// (with `0·ln 0 = 0`), clamped to [0, 100] against rounding.
pub fn uncertainty_score(p: &Probabilities) -> f64 {
    let entropy: f64 = [p.home, p.draw, p.away]
        .into_iter()
        .filter(|&x| x > 0.0)
        .map(|x| -x * x.ln())
        .sum();
    (100.0 * entropy / 3f64.ln()).clamp(0.0, 100.0)
}

/// Uncertainty of the simulated outcome `counts` (at least one): their score and band,
/// the favourite from the closed form `exact`, and the share of simulated matches the
/// favourite does not win.
pub fn risk(counts: &Counts, exact: &Probabilities) -> Risk {
    let n = counts.home + counts.draw + counts.away;
    // Each share straight from a count, so `upset_probability` is the nearest double to
    // its fraction, as the probabilities are (`1 − p` would often be an ulp away).
    let share = |count: u64| count as f64 / n as f64;
    let score = uncertainty_score(&Probabilities {
        home: share(counts.home),
        draw: share(counts.draw),
        away: share(counts.away),
    });
    let favourite = favourite(exact);
    let favourite_wins = match favourite {
        Favourite::Home => counts.home,
        Favourite::Away => counts.away,
        // The larger count stands in, so the value moves smoothly as a match turns level.
        Favourite::None => counts.home.max(counts.away),
    };
    Risk {
        score,
        band: risk_band(score),
        favourite,
        upset_probability: share(n - favourite_wins),
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
        assert_eq!(risk_band(74.99), RiskBand::Low);
        assert_eq!(risk_band(75.0), RiskBand::Medium);
        assert_eq!(risk_band(92.99), RiskBand::Medium);
        assert_eq!(risk_band(93.0), RiskBand::High);
        assert_eq!(risk_band(100.0), RiskBand::High);
    }

    fn probabilities(home: f64, draw: f64, away: f64) -> Probabilities {
        Probabilities { home, draw, away }
    }

    #[test]
    fn the_uncertainty_score_is_normalised_entropy() {
        let third = 1.0 / 3.0;
        assert!((uncertainty_score(&probabilities(third, third, third)) - 100.0).abs() < 1e-9);
        assert_eq!(uncertainty_score(&probabilities(1.0, 0.0, 0.0)), 0.0);
        let half = 100.0 * 2f64.ln() / 3f64.ln();
        assert!((uncertainty_score(&probabilities(0.5, 0.0, 0.5)) - half).abs() < 1e-9);

        // Distributions (p, (1 − p)/2, (1 − p)/2) whose scores straddle the
        // boundaries; the score falls from 100 to 0 as p goes from 1/3 to 1.
        let score_of = |p: f64| {
            let rest = (1.0 - p) / 2.0;
            uncertainty_score(&probabilities(p, rest, rest))
        };
        let boundary = |target: f64| {
            let (mut lo, mut hi) = (third, 1.0);
            for _ in 0..200 {
                let mid = 0.5 * (lo + hi);
                if score_of(mid) > target {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            lo
        };
        for (target, below, above) in [
            (LOW_BELOW, RiskBand::Low, RiskBand::Medium),
            (MEDIUM_BELOW, RiskBand::Medium, RiskBand::High),
        ] {
            let p = boundary(target);
            let near_above = score_of(p - 1e-6);
            let near_below = score_of(p + 1e-6);
            assert!(near_above > target && near_above < target + 0.01);
            assert!(near_below < target && near_below > target - 0.01);
            assert_eq!(risk_band(near_above), above);
            assert_eq!(risk_band(near_below), below);
        }
    }

    #[test]
    fn the_risk_of_counts_scores_their_shares() {
        let even = probabilities(1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0);
        let counts = |home, draw, away| Counts { home, draw, away };
        let spread = risk(&counts(10, 10, 10), &even);
        assert!((spread.score - 100.0).abs() < 1e-9);
        assert_eq!(spread.band, RiskBand::High);
        let certain = risk(&counts(1_000, 0, 0), &probabilities(1.0, 0.0, 0.0));
        assert_eq!((certain.score, certain.band), (0.0, RiskBand::Low));
        assert_eq!(certain.upset_probability, 0.0);
    }

    #[test]
    fn the_favourite_comes_from_the_closed_form_and_level_sides_have_none() {
        let base = &SCENARIOS[BASE_SCENARIO];
        let favourite_of = |home, away, adv| favourite(&analytic(&params(home, away, adv), base));
        assert_eq!(favourite_of(2100.0, 2050.0, 100.0), Favourite::Home);
        assert_eq!(favourite_of(1800.0, 2080.0, 100.0), Favourite::Away);
        assert_eq!(favourite_of(1700.0, 1700.0, 0.0), Favourite::None);
        // A margin of 0.02 is a rating difference of about 7.4 points either way.
        assert_eq!(favourite_of(1507.0, 1500.0, 0.0), Favourite::None);
        assert_eq!(favourite_of(1500.0, 1507.0, 0.0), Favourite::None);
        assert_eq!(favourite_of(1508.0, 1500.0, 0.0), Favourite::Home);
        assert_eq!(favourite_of(1500.0, 1508.0, 0.0), Favourite::Away);
    }

    #[test]
    fn the_upset_probability_is_what_the_favourite_does_not_win() {
        let counts = |home, draw, away| Counts { home, draw, away };
        let exact = probabilities(0.6, 0.2, 0.2);
        let home_favoured = risk(&counts(587, 221, 192), &exact);
        assert_eq!(home_favoured.favourite, Favourite::Home);
        // Exactly the double nearest 413/1000, as a probability read from counts is.
        assert_eq!(home_favoured.upset_probability, 0.413);

        // The simulation may disagree with the closed form; the favourite does not move.
        let noisy = risk(&counts(3, 3, 4), &exact);
        assert_eq!(noisy.favourite, Favourite::Home);
        assert_eq!(noisy.upset_probability, 0.7);

        let away = risk(&counts(2, 2, 6), &probabilities(0.2, 0.2, 0.6));
        assert_eq!(
            (away.favourite, away.upset_probability),
            (Favourite::Away, 0.4)
        );

        let level = probabilities(0.375, 0.25, 0.375);
        let simulated = risk(&counts(36, 25, 39), &level);
        assert_eq!(simulated.favourite, Favourite::None);
        assert_eq!(simulated.upset_probability, 0.61);
    }
}
