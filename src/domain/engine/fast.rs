//! The fast two-pass engine behind [`simulate`](super::simulate): no transcendental
//! function per sample.
//!
//! `D` is increasing in `u`, and therefore in the grid index `k`. So every
//! question of the form "is `D > T`?" or "is `m ≥ 0.35`?" is "is `k ≥ t`?"
//! for a threshold `t` found once per simulation: the closed form gives a
//! guess, which is then corrected by evaluating the per-sample definition on
//! neighbouring grid points (a galloping search). The classification of each
//! scenario and each histogram edge is therefore an integer threshold.
//!
//! Pass 1 counts `k` into 4096 equal-width buckets (the top 12 bits of `x`) and
//! accumulates moments of `m`. For the base scenario `s' = s`, so
//! `m = 1 / (1 + c·(1 − u)/u) = u / (u + c·(1 − u))` with `c = 10^(−μ/400)`,
//! and the deviation from the Elo expected score `elo = 1/(1 + c)` is
//! `m − elo = elo·c·(2u − 1) / (u + c·(1 − u))`: one division per sample, no
//! logarithm or power, and no cancellation when `m` is close to 0 or 1.
//!
//! Pass 2 regenerates the same stream (the generator is cheap) and keeps only
//! the grid indices that fall into the few buckets holding a threshold or a
//! needed order statistic. Counts above a threshold are whole buckets plus a
//! binary search in the kept values; order statistics of `u` are found by rank
//! within their bucket, and order statistics of `m` are `m` of those (since
//! `m` is increasing in `u`). Nothing is sorted except the kept values (a few
//! thousand for a million iterations).

use super::{
    Counts, ExpectedScore, HISTOGRAM_BINS, LOGISTIC_SCALE, MatchParams, SCENARIOS, Simulation,
    closed_form::sigmoid,
    rng::{GRID, GRID_BITS, Xoshiro256PlusPlus, blocks, grid_index, grid_uniform},
    sample::{
        assemble, expected_score_of_margin, histogram_bin, margin, quantile_ranks, quantiles_with,
        shape,
    },
    search::{first_true, grid_guess},
};

/// Buckets used to locate order statistics and thresholds (top bits of `k`).
const BUCKET_BITS: u32 = 12;
const BUCKETS: usize = 1 << BUCKET_BITS;
/// Shift from a grid index to its bucket.
const BUCKET_SHIFT: u32 = GRID_BITS - BUCKET_BITS;

/// Counts per bucket plus the sorted grid indices kept from the buckets that
/// hold a threshold or an order statistic.
struct Selection {
    /// `cumulative[b]` = number of samples in buckets below `b`.
    cumulative: Vec<u64>,
    kept: Vec<u64>,
}

impl Selection {
    fn kept_below(&self, k: u64) -> usize {
        self.kept.partition_point(|&x| x < k)
    }

    /// Number of samples with grid index `≥ t`. The bucket of `t` must have been kept.
    fn count_at_least(&self, t: u64) -> u64 {
        if t >= GRID {
            return 0;
        }
        let b = (t >> BUCKET_SHIFT) as usize;
        let total = self.cumulative[BUCKETS];
        let above = total - self.cumulative[b + 1];
        let bucket_end = (b as u64 + 1) << BUCKET_SHIFT;
        above + (self.kept_below(bucket_end) - self.kept_below(t)) as u64
    }

    /// Grid index of rank `r` (0-based). Its bucket must have been kept.
    fn order_stat(&self, r: u64) -> u64 {
        let b = self.cumulative.partition_point(|&c| c <= r) - 1;
        let start = self.kept_below((b as u64) << BUCKET_SHIFT);
        self.kept[start + (r - self.cumulative[b]) as usize]
    }
}

/// Runs the simulation. `iterations` is expected in 100..=1_000_000 (checked
/// by the caller); any value works, and 0 is treated as 1.
pub fn simulate(params: &MatchParams, iterations: u32, seed: u64) -> Simulation {
    let iterations = iterations.max(1);
    let n = u64::from(iterations);
    let mu = params.rating_difference();
    let c = 10f64.powf(-mu / 400.0);
    let elo = 1.0 / (1.0 + c);

    // Pass 1: bucket counts and shifted power sums of m, summed per block.
    let mut bucket_counts = [0u32; BUCKETS];
    let mut sums = [0.0f64; 4];
    for (block, len) in blocks(iterations) {
        let mut rng = Xoshiro256PlusPlus::for_block(seed, block);
        let (mut s1, mut s2, mut s3, mut s4) = (0.0, 0.0, 0.0, 0.0);
        for _ in 0..len {
            let x = rng.next_u64();
            bucket_counts[(x >> (64 - BUCKET_BITS)) as usize] += 1;
            let u = grid_uniform(grid_index(x));
            // m = 1/(1 + 10^(−D/400)) with D = μ + s·ln(u/(1−u)) is
            // u/(u + c(1−u)), and subtracting elo = 1/(1+c) algebraically
            // gives d = m − elo without cancellation even when m ≈ 1.
            let d = elo * c * (2.0 * u - 1.0) / (u + c * (1.0 - u));
            let d2 = d * d;
            s1 += d;
            s2 += d2;
            s3 += d2 * d;
            s4 += d2 * d2;
        }
        for (total, part) in sums.iter_mut().zip([s1, s2, s3, s4]) {
            *total += part;
        }
    }
    let mut cumulative = Vec::with_capacity(BUCKETS + 1);
    let mut running = 0u64;
    cumulative.push(0);
    for &count in &bucket_counts {
        running += u64::from(count);
        cumulative.push(running);
    }

    // Grid thresholds. Scenario: home iff k ≥ home, away iff k < not_away.
    let scenario_thresholds = SCENARIOS.map(|sc| {
        let scale = sc.sampling_scale();
        let band = sc.draw_band();
        let home = first_true(grid_guess(sigmoid((band - mu) / scale)), |k| {
            margin(mu, scale, grid_uniform(k)) > band
        });
        let not_away = first_true(grid_guess(sigmoid((-band - mu) / scale)), |k| {
            margin(mu, scale, grid_uniform(k)) >= -band
        });
        (home, not_away)
    });
    // Histogram: bin ≥ j iff k ≥ edge_thresholds[j − 1]. The guess inverts
    // m = u / (u + c(1 − u)): u = m·c / (1 − m + m·c).
    let edge_thresholds: [u64; HISTOGRAM_BINS - 1] = std::array::from_fn(|i| {
        let j = i + 1;
        let edge = j as f64 / HISTOGRAM_BINS as f64;
        first_true(grid_guess(edge * c / (1.0 - edge + edge * c)), |k| {
            let m = expected_score_of_margin(margin(mu, LOGISTIC_SCALE, grid_uniform(k)));
            histogram_bin(m) >= j
        })
    });

    // Pass 2: keep the samples of the buckets that need resolving.
    let mut wanted = [false; BUCKETS];
    let thresholds = scenario_thresholds
        .iter()
        .flat_map(|&(h, a)| [h, a])
        .chain(edge_thresholds);
    for t in thresholds.filter(|&t| t < GRID) {
        wanted[(t >> BUCKET_SHIFT) as usize] = true;
    }
    for r in quantile_ranks(n) {
        wanted[cumulative.partition_point(|&below| below <= r) - 1] = true;
    }
    let capacity: u64 = (0..BUCKETS)
        .filter(|&b| wanted[b])
        .map(|b| u64::from(bucket_counts[b]))
        .sum();
    let mut kept = Vec::with_capacity(capacity as usize);
    for (block, len) in blocks(iterations) {
        let mut rng = Xoshiro256PlusPlus::for_block(seed, block);
        for _ in 0..len {
            let x = rng.next_u64();
            if wanted[(x >> (64 - BUCKET_BITS)) as usize] {
                kept.push(grid_index(x));
            }
        }
    }
    kept.sort_unstable();
    let selection = Selection { cumulative, kept };

    let scenario_counts = scenario_thresholds.map(|(home, not_away)| {
        let home = selection.count_at_least(home);
        let away = n - selection.count_at_least(not_away);
        Counts {
            home,
            draw: n - home - away,
            away,
        }
    });

    let mut at_least = Vec::with_capacity(HISTOGRAM_BINS + 1);
    at_least.push(n);
    at_least.extend(edge_thresholds.iter().map(|&t| selection.count_at_least(t)));
    at_least.push(0);
    let histogram_counts = at_least.windows(2).map(|w| w[0] - w[1]).collect();

    let quantiles = quantiles_with(n, |r| {
        let u = grid_uniform(selection.order_stat(r));
        expected_score_of_margin(margin(mu, LOGISTIC_SCALE, u))
    });

    // Central moments from power sums of d = m − elo, δ = mean − elo.
    let nf = n as f64;
    let [a1, a2, a3, a4] = sums.map(|s| s / nf);
    let delta = a1;
    let m2 = (a2 - delta * delta).max(0.0);
    let m3 = a3 - 3.0 * delta * a2 + 2.0 * delta * delta * delta;
    let m4 = a4 - 4.0 * delta * a3 + 6.0 * delta * delta * a2 - 3.0 * delta * delta * delta * delta;
    let moments = shape(elo + delta, m2, m3, m4);
    let expected_score = ExpectedScore::from_parts(elo, moments, quantiles, histogram_counts);
    assemble(params, iterations, seed, scenario_counts, expected_score)
}

#[cfg(test)]
mod tests {
    use super::super::{
        BASE_SCENARIO, Probabilities, analytic,
        fixtures::{matches, params},
    };
    use super::*;

    fn assert_within_four_se(label: &str, mc: &Probabilities, exact: &Probabilities, n: u32) {
        let n = f64::from(n);
        for (outcome, p_mc, p) in [
            ("home", mc.home, exact.home),
            ("draw", mc.draw, exact.draw),
            ("away", mc.away, exact.away),
        ] {
            let se = (p * (1.0 - p) / n).sqrt();
            assert!(
                (p_mc - p).abs() <= 4.0 * se,
                "{label} {outcome}: simulated {p_mc}, closed form {p}, se {se}"
            );
        }
    }

    #[test]
    fn monte_carlo_agrees_with_closed_form() {
        let n = 200_000;
        for (i, (label, p)) in matches().into_iter().enumerate() {
            let sim = simulate(&p, n, 1000 + i as u64);
            assert_within_four_se(label, &sim.probabilities, &sim.analytic, n);
        }
    }

    #[test]
    fn scenarios_agree_with_their_closed_form() {
        let n = 200_000;
        for (i, (label, p)) in matches().into_iter().enumerate() {
            let sim = simulate(&p, n, 2000 + i as u64);
            assert_eq!(sim.scenarios.len(), 3);
            for (result, scenario) in sim.scenarios.iter().zip(&SCENARIOS) {
                assert_eq!(result.name, scenario.name);
                let label = format!("{label} {:?}", scenario.name);
                assert_within_four_se(&label, &result.probabilities, &analytic(&p, scenario), n);
            }
        }
    }

    #[test]
    fn counts_and_histogram_sum_to_iterations() {
        for n in [1, 2, 100, 1_000, 65_536, 65_537, 150_001] {
            for (_, p) in matches() {
                let sim = simulate(&p, n, 5);
                let n = u64::from(n);
                let c = sim.counts;
                assert_eq!(c.home + c.draw + c.away, n);
                let h = &sim.expected_score.histogram;
                assert_eq!(h.counts.len(), HISTOGRAM_BINS);
                assert_eq!(h.edges.len(), HISTOGRAM_BINS + 1);
                assert_eq!(h.counts.iter().sum::<u64>(), n);
                for r in &sim.scenarios {
                    let q = r.probabilities;
                    assert!((q.home + q.draw + q.away - 1.0).abs() < 1e-12);
                }
                assert_eq!(
                    sim.scenarios[BASE_SCENARIO].probabilities,
                    sim.probabilities
                );
            }
        }
    }

    #[test]
    fn quantiles_are_monotone_and_within_unit_interval() {
        for n in [1, 100, 10_000] {
            for (_, p) in matches() {
                let q = simulate(&p, n, 9).expected_score.quantiles;
                let v = [q.p5, q.p25, q.p50, q.p75, q.p95];
                assert!(v.windows(2).all(|w| w[0] <= w[1]), "{v:?}");
                assert!(v.iter().all(|x| (0.0..=1.0).contains(x)), "{v:?}");
            }
        }
    }

    #[test]
    fn equal_sides_give_uniform_expected_score() {
        // With μ = 0, m = u exactly: mean 1/2, stdev 1/√12, excess kurtosis −1.2.
        let e = simulate(&params(1500.0, 1500.0, 0.0), 200_000, 3).expected_score;
        assert_eq!(e.elo, 0.5);
        assert!((e.mean - 0.5).abs() < 0.003);
        assert!((e.stdev - 12f64.sqrt().recip()).abs() < 0.003);
        assert!(e.skew.abs() < 0.02);
        assert!((e.kurtosis + 1.2).abs() < 0.02);
        assert!((e.quantiles.p50 - 0.5).abs() < 0.005);
    }

    #[test]
    fn same_seed_is_bit_identical_and_different_seed_differs() {
        let p = params(2100.0, 2050.0, 100.0);
        let a = simulate(&p, 100_000, 42);
        assert_eq!(a, simulate(&p, 100_000, 42));
        let b = simulate(&p, 100_000, 43);
        assert_ne!(a.counts, b.counts);
        assert_ne!(a.expected_score.mean, b.expected_score.mean);
    }

    #[test]
    fn iterations_at_block_boundaries_do_not_panic() {
        let p = params(2000.0, 1900.0, 60.0);
        for n in [1, 2, 3, 65_535, 65_536, 65_537, 131_072] {
            let sim = simulate(&p, n, 77);
            assert_eq!(sim.iterations, n);
        }
        assert_eq!(simulate(&p, 0, 1).iterations, 1);
    }
}
