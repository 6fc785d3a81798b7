//! Turning "does this sample satisfy the condition?" into "is its grid index at least `t`?":
//! a galloping search for the threshold `t`, started from the closed form's guess.

use super::rng::GRID;

/// Smallest grid index `k` for which `pred(k)` holds, or `GRID` if none, for a
/// predicate that is false below some index and true from it on.
///
/// Starts at `guess` (normally within an ulp or two of the answer), gallops
/// outwards until the answer is bracketed, then bisects; a good guess costs a
/// handful of evaluations, a bad one at most about 2·52.
pub(super) fn first_true(guess: u64, pred: impl Fn(u64) -> bool) -> u64 {
    let holds = |k: u64| k >= GRID || pred(k);
    let guess = guess.min(GRID);
    // Invariant after bracketing: `holds` is false below `lo` and true at `hi`.
    let (mut lo, mut hi) = if holds(guess) {
        let mut hi = guess;
        let mut step = 1;
        loop {
            if hi == 0 {
                break (0, 0);
            }
            let probe = hi.saturating_sub(step);
            if holds(probe) {
                hi = probe;
                step *= 2;
            } else {
                break (probe + 1, hi);
            }
        }
    } else {
        let mut lo = guess + 1;
        let mut step = 1;
        loop {
            let probe = (lo + step - 1).min(GRID);
            if holds(probe) {
                break (lo, probe);
            }
            lo = probe + 1;
            step *= 2;
        }
    };
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if holds(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    hi
}

/// Grid index just above the uniform `u` (guess for [`first_true`]).
pub(super) fn grid_guess(u: f64) -> u64 {
    // `as` saturates, so NaN and negative values become 0.
    ((u * GRID as f64 - 0.5).ceil() as u64).min(GRID)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_true_finds_threshold_from_any_guess() {
        for target in [0, 1, 12_345, GRID / 2, GRID - 1, GRID] {
            for guess in [0, 1, target.saturating_sub(3), target, target + 5, GRID] {
                assert_eq!(first_true(guess, |k| k >= target), target);
            }
        }
    }
}
