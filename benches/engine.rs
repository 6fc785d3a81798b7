//! Benchmark of the fast engine against the reference implementation.
//!
//! Plain `std::time` harness: every configuration is run several times and the
//! median wall time is reported. A counting global allocator measures the peak
//! extra heap memory of a single 1M-iteration run of each implementation.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use trickster_oracle::domain::engine::{self, MatchParams, reference};

/// Wraps the system allocator and tracks current and peak live heap bytes.
struct CountingAllocator;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

impl CountingAllocator {
    fn record_alloc(size: usize) {
        let now = CURRENT.fetch_add(size, Ordering::Relaxed) + size;
        PEAK.fetch_max(now, Ordering::Relaxed);
    }

    fn record_dealloc(size: usize) {
        CURRENT.fetch_sub(size, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded unchanged to `System`; the wrapper only
// updates counters.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            Self::record_alloc(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            Self::record_alloc(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        Self::record_dealloc(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let new_ptr = unsafe { System.realloc(ptr, layout, new_size) };
        if !new_ptr.is_null() {
            Self::record_dealloc(layout.size());
            Self::record_alloc(new_size);
        }
        new_ptr
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

type SimulateFn = fn(&MatchParams, u32, u64) -> engine::Simulation;

/// Median wall time in milliseconds over `runs` runs (seed varies per run).
fn median_ms(simulate: SimulateFn, params: &MatchParams, iterations: u32, runs: usize) -> f64 {
    // One warm-up run so page faults and lazy initialisation are not timed.
    black_box(simulate(params, iterations, 0));
    let mut times: Vec<f64> = (0..runs)
        .map(|run| {
            let start = Instant::now();
            black_box(simulate(black_box(params), iterations, run as u64 + 1));
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[runs / 2]
}

/// Peak heap bytes allocated on top of what was live before the run.
fn peak_extra_bytes(simulate: SimulateFn, params: &MatchParams, iterations: u32) -> usize {
    let baseline = CURRENT.load(Ordering::Relaxed);
    PEAK.store(baseline, Ordering::Relaxed);
    black_box(simulate(params, iterations, 1));
    PEAK.load(Ordering::Relaxed) - baseline
}

fn main() {
    let params = MatchParams {
        home_rating: 2100.0,
        away_rating: 2050.0,
        home_advantage: 100.0,
    };
    // (iterations, fast runs, reference runs)
    let plan = [(10_000u32, 51, 21), (100_000, 31, 21), (1_000_000, 21, 7)];

    println!("Barcelona 2100 vs Real Madrid 2050 (+100), base statistics + 3 scenarios");
    println!();
    println!(
        "| iterations | fast median ms | fast ns/iter | reference median ms | reference ns/iter | speed-up |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    for (iterations, fast_runs, reference_runs) in plan {
        let fast = median_ms(engine::simulate, &params, iterations, fast_runs);
        let slow = median_ms(reference::simulate, &params, iterations, reference_runs);
        let per_iter = |ms: f64| ms * 1e6 / f64::from(iterations);
        println!(
            "| {iterations} | {fast:.3} | {:.2} | {slow:.3} | {:.2} | {:.1}× |",
            per_iter(fast),
            per_iter(slow),
            slow / fast,
        );
    }
    println!();
    println!("Runs per row (fast / reference): 51/21, 31/21, 21/7.");
    println!();

    let fast_bytes = peak_extra_bytes(engine::simulate, &params, 1_000_000);
    let slow_bytes = peak_extra_bytes(reference::simulate, &params, 1_000_000);
    println!("Peak extra heap for one 1M-iteration run:");
    println!();
    println!("| implementation | peak extra heap |");
    println!("|---|---:|");
    println!(
        "| fast | {fast_bytes} bytes ({:.1} KiB) |",
        fast_bytes as f64 / 1024.0
    );
    println!(
        "| reference | {slow_bytes} bytes ({:.1} MiB) |",
        slow_bytes as f64 / (1024.0 * 1024.0)
    );
}
