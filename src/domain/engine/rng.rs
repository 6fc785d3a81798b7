//! The random stream: SplitMix64, xoshiro256++, blocks and the uniform grid.
//!
//! The generator is xoshiro256++ (Blackman & Vigna, "Scrambled linear
//! pseudorandom number generators", 2021, <https://prng.di.unimi.it/>) with its
//! state filled by four outputs of SplitMix64 (Steele, Lea & Flood, 2014), the
//! seeding procedure recommended by the xoshiro authors.
//!
//! Iterations are split into blocks of [`BLOCK_LEN`] = 2^16. Block `b` has its
//! own generator, seeded with `SplitMix64(seed ^ mix64(b))`, where `mix64` is
//! the SplitMix64 output function (a bijection with `mix64(0) = 0`, so block 0
//! is the plain xoshiro seeding of `seed`). Every block restarts its own
//! generator, so a parallel implementation can process blocks on any thread;
//! partial results are combined in block order, which keeps the output
//! bit-identical however the work is scheduled.
//!
//! Each 64-bit output `x` gives a grid index `k = x >> 12` (52 bits) and the
//! uniform `u = (k + 0.5)·2^−52`. This `u` is strictly inside (0, 1), and both
//! `u` and `1 − u` are exact: adding 0.5 to a 52-bit integer still fits in the
//! 53-bit mantissa. (Using 53 bits, `(x >> 11) + 0.5` can round up to 2^53 and
//! yield `u = 1`.) The same `u` drives all three scenarios (common random
//! numbers), so differences between scenarios reflect the scenarios, not noise.

use super::BLOCK_LEN;

/// Bits of the uniform grid: `u = (k + 0.5)·2^−GRID_BITS`.
pub(super) const GRID_BITS: u32 = 52;
/// Number of grid points; a threshold equal to `GRID` means "never".
pub(super) const GRID: u64 = 1 << GRID_BITS;
/// Spacing of the uniform grid.
const GRID_STEP: f64 = 1.0 / GRID as f64;

const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64 output function (Stafford's "Mix13"): a bijection on `u64`.
const fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// SplitMix64, used only to seed xoshiro256++.
#[derive(Debug, Clone)]
pub(super) struct SplitMix64(u64);

impl SplitMix64 {
    pub(super) fn new(state: u64) -> Self {
        Self(state)
    }

    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN_GAMMA);
        mix64(self.0)
    }
}

/// xoshiro256++ 1.0.
#[derive(Debug, Clone)]
pub(super) struct Xoshiro256PlusPlus {
    s: [u64; 4],
}

impl Xoshiro256PlusPlus {
    /// Fills the state with four SplitMix64 outputs. SplitMix64 visits every
    /// state once per period, so the four words are never all zero.
    pub(super) fn from_splitmix(state: u64) -> Self {
        let mut sm = SplitMix64::new(state);
        Self {
            s: [sm.next_u64(), sm.next_u64(), sm.next_u64(), sm.next_u64()],
        }
    }

    /// Generator of block `block` of the stream of `seed`.
    pub(super) fn for_block(seed: u64, block: u64) -> Self {
        Self::from_splitmix(seed ^ mix64(block))
    }

    #[inline(always)]
    pub(super) fn next_u64(&mut self) -> u64 {
        let [s0, s1, s2, s3] = self.s;
        let result = s0.wrapping_add(s3).rotate_left(23).wrapping_add(s0);
        let t = s1 << 17;
        let s2 = s2 ^ s0;
        let s3 = s3 ^ s1;
        let s1 = s1 ^ s2;
        let s0 = s0 ^ s3;
        let s2 = s2 ^ t;
        let s3 = s3.rotate_left(45);
        self.s = [s0, s1, s2, s3];
        result
    }
}

/// Blocks of the stream for `iterations`: `(block index, length)`.
pub(super) fn blocks(iterations: u32) -> impl Iterator<Item = (u64, u64)> {
    let n = u64::from(iterations);
    (0..n.div_ceil(BLOCK_LEN)).map(move |b| (b, BLOCK_LEN.min(n - b * BLOCK_LEN)))
}

/// Grid index of a raw generator output.
#[inline(always)]
pub(super) fn grid_index(x: u64) -> u64 {
    x >> (64 - GRID_BITS)
}

/// Uniform in (0, 1) for grid index `k`: `(k + 0.5)·2^−52`.
#[inline(always)]
pub(super) fn grid_uniform(k: u64) -> f64 {
    (k as f64 + 0.5) * GRID_STEP
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prng_matches_reference_vectors() {
        // xoshiro256++ from state [1, 2, 3, 4]: the first output is
        // rotl(1 + 4, 23) + 1; the second follows from one state update.
        let mut rng = Xoshiro256PlusPlus { s: [1, 2, 3, 4] };
        assert_eq!(rng.next_u64(), (5u64 << 23) + 1);
        assert_eq!(rng.next_u64(), 58_720_359);
        // SplitMix64 from state 0 (Vigna's splitmix64.c).
        let mut sm = SplitMix64::new(0);
        assert_eq!(sm.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(mix64(0), 0);
    }

    #[test]
    fn uniform_grid_is_strictly_inside_unit_interval() {
        let lo = grid_uniform(grid_index(0));
        let hi = grid_uniform(grid_index(u64::MAX));
        assert!(lo > 0.0 && hi < 1.0);
        assert_eq!(1.0 - hi, lo);
    }
}
