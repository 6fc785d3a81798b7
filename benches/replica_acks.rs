//! What `REDIS_MIN_REPLICA_ACKS=1` costs, and why its `WAIT`s run on a pool of their own.
//!
//! One "charge" is the account work of a computed simulation with an idempotency key, through
//! the service's own store: admission (claims the key), the hold, and the settlement that
//! commits the hold and stores the answer. Three ways, measured in one run against a primary
//! with one replica (local `redis-server` processes started by `tools/localstack`):
//!
//! - no acknowledgements (`REDIS_MIN_REPLICA_ACKS=0`);
//! - the service's way: account scripts and their `WAIT` on a pool of `REDIS_ACK_CONNECTIONS`
//!   connections (several sizes);
//! - the way the pool avoids: each script followed by `WAIT` on the one multiplexed
//!   connection every request shares.
//!
//! For each: the median time of one charge alone; charges per second with 32 callers; and,
//! while those 32 run, the median and 99th percentile of a balance read (a script that changes
//! nothing, so it waits for no replica). Then the same load with the replica frozen (SIGSTOP),
//! so that every `WAIT` lasts its whole deadline: what happens to the balance reads.
//!
//! Run: `cargo bench --bench replica_acks` (needs `redis-server` on PATH).

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use localstack::{SentinelGroup, SentinelSpec};
use trickster_oracle::{
    config::Settings,
    store::{
        Slot, Store,
        admission::RateLimit,
        idempotency::{ClaimEnd, IdempotencyClaim, IdempotencyMode, Operation},
        ledger::{HoldEnd, HoldOutcome, HoldRequest, Settlement},
    },
};

const CALLERS: usize = 32;
const ALONE: usize = 500;
const LOAD_FOR: Duration = Duration::from_secs(3);
const FROZEN_FOR: Duration = Duration::from_secs(2);

/// How a charge's changes are confirmed.
#[derive(Clone, Copy)]
enum Way {
    NoAcks,
    Pool(usize),
    SharedConnection,
}

impl Way {
    fn label(self) -> String {
        match self {
            Way::NoAcks => "no acknowledgements (REDIS_MIN_REPLICA_ACKS=0)".into(),
            Way::Pool(n) => format!("WAIT on a pool of {n} connections"),
            Way::SharedConnection => "WAIT on the shared multiplexed connection".into(),
        }
    }
}

fn store(url: &str, prefix: &str, way: Way, timeout_ms: u64) -> Store {
    let (acks, connections) = match way {
        Way::Pool(n) => ("1", n),
        Way::NoAcks | Way::SharedConnection => ("0", 8),
    };
    let vars: HashMap<String, String> = [
        ("REDIS_URL", url.to_owned()),
        ("REDIS_KEY_PREFIX", prefix.to_owned()),
        ("REDIS_MIN_REPLICA_ACKS", acks.to_owned()),
        ("REDIS_ACK_CONNECTIONS", connections.to_string()),
        ("REDIS_TIMEOUT_MS", timeout_ms.to_string()),
        ("DAILY_TOKENS", "1000000000".to_owned()),
        ("LOG_LEVEL", "error".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    Store::new(&Settings::from_map(&vars).expect("bench settings")).expect("store")
}

/// `WAIT 1 <timeout>` on the store's shared connection: whether the replica confirmed.
async fn wait_shared(store: &Store, timeout_ms: u64) -> bool {
    let acknowledged: Result<i64, _> = store
        .command(redis::cmd("WAIT").arg(1).arg(timeout_ms))
        .await;
    acknowledged.is_ok_and(|n| n >= 1)
}

/// One charge: admission with a key, hold, commit with the stored answer.
async fn charge(store: &Store, way: Way, actor: &str, n: usize, timeout_ms: u64) -> bool {
    let store = store.for_request();
    let slot = Slot::Actor(actor.to_owned());
    let limit = Some(RateLimit {
        capacity: 1_000_000,
        per_minute: 6_000_000,
    });
    let key = format!("k-{n}");
    let mode = IdempotencyMode::Claim { lease_ms: 60_000 };
    let claim = IdempotencyClaim::new(Operation::Simulate, &key, "{}", 600, mode);
    if store.admit(&slot, limit, Some(&claim)).await.is_err() {
        return false;
    }
    let request = HoldRequest {
        actor,
        cost: 1,
        hold_id: format!("h-{n}"),
        lease_ms: 60_000,
        request_id: &key,
        reason: "bench",
    };
    let Ok(HoldOutcome::Held { hold, .. }) = store.hold(&request).await else {
        return false;
    };
    if let Way::SharedConnection = way
        && !wait_shared(&store, timeout_ms).await
    {
        return false;
    }
    let settlement = Settlement {
        actor,
        hold: HoldEnd::Commit(hold),
        claim: Some((
            &claim,
            ClaimEnd::Store {
                status: 200,
                body: "{\"bench\":true}",
            },
        )),
    };
    let settled = store.settle(settlement).await.is_ok();
    match way {
        Way::SharedConnection => settled && wait_shared(&store, timeout_ms).await,
        _ => settled,
    }
}

fn percentile_ms(samples: &mut [Duration], p: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    samples.sort_unstable();
    let index = ((samples.len() as f64 * p) as usize).min(samples.len() - 1);
    samples[index].as_secs_f64() * 1e3
}

struct Loaded {
    charges_per_s: f64,
    failed: usize,
    read_p50_ms: f64,
    read_p99_ms: f64,
    reads: usize,
}

/// 32 callers charging for `duration`, and one caller reading a balance meanwhile.
async fn under_load(store: &Store, way: Way, duration: Duration, timeout_ms: u64) -> Loaded {
    let stop = Arc::new(AtomicBool::new(false));
    let (done, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let started = Instant::now();
    let chargers: Vec<_> = (0..CALLERS)
        .map(|c| {
            let (store, stop) = (store.clone(), stop.clone());
            let (done, failed) = (done.clone(), failed.clone());
            tokio::spawn(async move {
                let actor = format!("payer-{c}");
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let id = c * 10_000_000 + n + started.elapsed().as_nanos() as usize;
                    if charge(&store, way, &actor, id, timeout_ms).await {
                        done.fetch_add(1, Ordering::Relaxed);
                    } else {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    let reader = {
        let (store, stop) = (store.clone(), stop.clone());
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let at = Instant::now();
                let _ = store.for_request().account("reader", None).await;
                latencies.push(at.elapsed());
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            latencies
        })
    };
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    for task in chargers {
        task.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut reads = reader.await.unwrap();
    Loaded {
        charges_per_s: done.load(Ordering::Relaxed) as f64 / elapsed,
        failed: failed.load(Ordering::Relaxed),
        read_p50_ms: percentile_ms(&mut reads, 0.5),
        read_p99_ms: percentile_ms(&mut reads, 0.99),
        reads: reads.len(),
    }
}

fn main() {
    let group = SentinelGroup::start(&SentinelSpec::new(1)).expect("a primary with a replica");
    let url = group.servers()[0].url();
    let group = Arc::new(std::sync::Mutex::new(group));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let ways = [
        Way::NoAcks,
        Way::Pool(4),
        Way::Pool(8),
        Way::Pool(16),
        Way::Pool(32),
        Way::SharedConnection,
    ];
    runtime.block_on(async {
        println!(
            "| way | one charge alone, median ms | charges/s, {CALLERS} callers | balance read during them, p50 / p99 ms |"
        );
        println!("|---|---:|---:|---:|");
        for (i, way) in ways.into_iter().enumerate() {
            let store = store(&url, &format!("bench{i}"), way, 1_000);
            let _ = store.account("reader", None).await;
            let mut alone = Vec::new();
            for n in 0..ALONE {
                let at = Instant::now();
                assert!(charge(&store, way, "alone", n, 1_000).await, "a charge");
                alone.push(at.elapsed());
            }
            let loaded = under_load(&store, way, LOAD_FOR, 1_000).await;
            assert_eq!(loaded.failed, 0, "no charge fails with a live replica");
            println!(
                "| {} | {:.3} | {:.0} | {:.2} / {:.2} ({} reads) |",
                way.label(),
                percentile_ms(&mut alone, 0.5),
                loaded.charges_per_s,
                loaded.read_p50_ms,
                loaded.read_p99_ms,
                loaded.reads
            );
        }

        println!();
        println!(
            "With the replica frozen (SIGSTOP) for {FROZEN_FOR:?}, REDIS_TIMEOUT_MS=200: every WAIT lasts its deadline."
        );
        println!();
        println!("| way | charges answered / failed | balance read during them, p50 / p99 ms |");
        println!("|---|---:|---:|");
        for (i, way) in [Way::Pool(8), Way::SharedConnection].into_iter().enumerate() {
            let store = store(&url, &format!("frozen{i}"), way, 200);
            let _ = store.account("reader", None).await;
            let replica = group.clone();
            tokio::task::spawn_blocking(move || replica.lock().unwrap().servers_mut()[1].pause())
                .await
                .unwrap()
                .expect("freeze the replica");
            let loaded = under_load(&store, way, FROZEN_FOR, 200).await;
            let replica = group.clone();
            tokio::task::spawn_blocking(move || replica.lock().unwrap().servers_mut()[1].resume())
                .await
                .unwrap()
                .expect("thaw the replica");
            println!(
                "| {} | {:.0}/s / {} | {:.2} / {:.2} ({} reads) |",
                way.label(),
                loaded.charges_per_s,
                loaded.failed,
                loaded.read_p50_ms,
                loaded.read_p99_ms,
                loaded.reads
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
}
