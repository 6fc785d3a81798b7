//! The uncertainty bands checked on a grid of realistic football matches: every band is
//! reached, the band never gets less uncertain as the favourite's chance falls, and the
//! words the explanation uses for each band hold (the record is in `docs/DECISIONS.md`).

use std::sync::LazyLock;

use super::{Favourite, MatchParams, RiskBand, Simulation, fixtures::params, simulate};

/// Rating differences from −400 to 400 in steps of 25, with home advantage 0 and 100,
/// each simulated once (100 000 iterations, one seed) and shared by the tests below.
static GRID: LazyLock<Vec<(MatchParams, Simulation)>> = LazyLock::new(|| {
    let gaps = (-16..=16).map(|step| f64::from(step) * 25.0);
    [0.0, 100.0]
        .into_iter()
        .flat_map(|adv| {
            gaps.clone()
                .map(move |gap| params(1800.0 + gap, 1800.0, adv))
        })
        .map(|p| (p, simulate(&p, 100_000, 2024)))
        .collect()
});

/// Order of increasing uncertainty.
fn rank(band: RiskBand) -> u8 {
    match band {
        RiskBand::Low => 0,
        RiskBand::Medium => 1,
        RiskBand::High => 2,
    }
}

/// The favourite's simulated win probability.
fn favourite_wins(sim: &Simulation) -> f64 {
    1.0 - sim.risk.upset_probability
}

#[test]
fn every_band_is_reached_on_realistic_matches() {
    let bands: Vec<RiskBand> = GRID.iter().map(|(_, sim)| sim.risk.band).collect();

    for band in [RiskBand::Low, RiskBand::Medium, RiskBand::High] {
        assert!(bands.contains(&band), "{band:?} is never reached");
    }
}

#[test]
fn the_band_never_gets_less_uncertain_as_the_favourite_weakens() {
    let mut results: Vec<&Simulation> = GRID.iter().map(|(_, sim)| sim).collect();

    results.sort_by(|a, b| favourite_wins(b).total_cmp(&favourite_wins(a)));
    for pair in results.windows(2) {
        let (stronger, weaker) = (pair[0], pair[1]);
        assert!(
            rank(weaker.risk.band) >= rank(stronger.risk.band),
            "favourite at {} reads {:?}, favourite at {} reads {:?}",
            favourite_wins(stronger),
            stronger.risk.band,
            favourite_wins(weaker),
            weaker.risk.band
        );
    }
}

#[test]
fn each_band_covers_the_rating_differences_recorded_in_the_decisions() {
    // Low from 250 points either way (home advantage included), medium from 125 to 225,
    // high up to 100: the boundaries of the closed form lie at about 232 and 105, and
    // the grid's nearest points are far enough from them for sampling noise not to matter.
    for (p, sim) in GRID.iter() {
        let gap = p.rating_difference().abs();
        let expected = match gap {
            g if g >= 250.0 => RiskBand::Low,
            g if g >= 125.0 => RiskBand::Medium,
            _ => RiskBand::High,
        };

        assert_eq!(sim.risk.band, expected, "{p:?}");
    }
}

#[test]
fn the_words_for_each_band_hold_on_the_grid() {
    // The explanation says: low, the favourite wins about 7 matches in 10 or more;
    // medium, roughly 5 to 7; high, no side much more than half the time.
    for (p, sim) in GRID.iter() {
        let in_ten = (10.0 * favourite_wins(sim)).round();
        let words_hold = match sim.risk.band {
            RiskBand::Low => in_ten >= 7.0,
            RiskBand::Medium => (5.0..=7.0).contains(&in_ten),
            RiskBand::High => in_ten <= 5.0,
        };

        assert!(words_hold, "{p:?}: {:?} with {in_ten} in 10", sim.risk.band);
    }
}

#[test]
fn only_matches_within_a_few_points_of_level_have_no_favourite() {
    for (p, sim) in GRID.iter() {
        let gap = p.rating_difference();
        let expected = match gap {
            g if g.abs() < 7.4 => Favourite::None,
            g if g > 0.0 => Favourite::Home,
            _ => Favourite::Away,
        };

        assert_eq!(sim.risk.favourite, expected, "{p:?}");
    }
}
