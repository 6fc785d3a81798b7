//! What one Redis call costs through each connection strategy, measured in one run:
//!
//! - the service's strategy: one multiplexed `ConnectionManager` shared by all requests;
//! - deadpool-redis with its default recycling (`UNWATCH` + `PING` on every checkout).
//!
//! For each: the median latency of one call made alone (PING, and EVALSHA of the service's
//! `cache_claim.lua` on a present key), and the throughput of 64 concurrent callers.
//!
//! Needs a Redis: `REDIS_URL` (default `redis://127.0.0.1:6379`); it writes one key,
//! `bench:{c:roundtrip}:result`, and deletes it at the end.
//! Run: `cargo bench --bench redis_roundtrip`.

use std::time::{Duration, Instant};

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};

const SEQUENTIAL: usize = 20_000;
const CONCURRENT_TASKS: usize = 64;
const CONCURRENT_CALLS: usize = 2_000;
const KEY: &str = "bench:{c:roundtrip}:result";
const LOCK: &str = "bench:{c:roundtrip}:lock";

fn script() -> redis::Script {
    redis::Script::new(include_str!("../lua/cache_claim.lua"))
}

async fn evalsha(conn: &mut impl ConnectionLike, script: &redis::Script) {
    let _: redis::Value = script
        .key(KEY)
        .key(LOCK)
        .arg("owner")
        .arg(1000)
        .invoke_async(conn)
        .await
        .expect("EVALSHA");
}

async fn ping(conn: &mut impl ConnectionLike) {
    let _: String = redis::cmd("PING").query_async(conn).await.expect("PING");
}

fn median_us(mut samples: Vec<Duration>) -> f64 {
    samples.sort_unstable();
    samples[samples.len() / 2].as_secs_f64() * 1e6
}

struct Row {
    strategy: &'static str,
    ping_us: f64,
    evalsha_us: f64,
    concurrent_per_s: f64,
}

async fn measure_manager(url: &str) -> Row {
    let client = redis::Client::open(url).unwrap();
    let manager = ConnectionManager::new_with_config(client, ConnectionManagerConfig::new())
        .await
        .unwrap();
    let script = script();
    let (mut pings, mut evals) = (Vec::new(), Vec::new());
    for _ in 0..SEQUENTIAL {
        let mut conn = manager.clone();
        let started = Instant::now();
        ping(&mut conn).await;
        pings.push(started.elapsed());
        let started = Instant::now();
        evalsha(&mut conn, &script).await;
        evals.push(started.elapsed());
    }
    let started = Instant::now();
    let tasks: Vec<_> = (0..CONCURRENT_TASKS)
        .map(|_| {
            let manager = manager.clone();
            let script = script.clone();
            tokio::spawn(async move {
                for _ in 0..CONCURRENT_CALLS {
                    evalsha(&mut manager.clone(), &script).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    Row {
        strategy: "multiplexed ConnectionManager (service)",
        ping_us: median_us(pings),
        evalsha_us: median_us(evals),
        concurrent_per_s: (CONCURRENT_TASKS * CONCURRENT_CALLS) as f64 / elapsed,
    }
}

async fn measure_pool(url: &str) -> Row {
    let config = deadpool_redis::Config::from_url(url);
    let pool = config
        .create_pool(Some(deadpool_redis::Runtime::Tokio1))
        .unwrap();
    let script = script();
    let (mut pings, mut evals) = (Vec::new(), Vec::new());
    for _ in 0..SEQUENTIAL {
        // One checkout per call, as a request handler would do.
        let started = Instant::now();
        ping(&mut pool.get().await.unwrap()).await;
        pings.push(started.elapsed());
        let started = Instant::now();
        evalsha(&mut pool.get().await.unwrap(), &script).await;
        evals.push(started.elapsed());
    }
    let started = Instant::now();
    let tasks: Vec<_> = (0..CONCURRENT_TASKS)
        .map(|_| {
            let pool = pool.clone();
            let script = script.clone();
            tokio::spawn(async move {
                for _ in 0..CONCURRENT_CALLS {
                    evalsha(&mut pool.get().await.unwrap(), &script).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    Row {
        strategy: "deadpool-redis, default recycling",
        ping_us: median_us(pings),
        evalsha_us: median_us(evals),
        concurrent_per_s: (CONCURRENT_TASKS * CONCURRENT_CALLS) as f64 / elapsed,
    }
}

fn main() {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = redis::Client::open(url.as_str()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let _: () = redis::cmd("SET").arg(KEY).arg("{}").query_async(&mut conn).await.unwrap();

        let rows = [measure_manager(&url).await, measure_pool(&url).await];

        println!("| strategy | PING median µs | EVALSHA median µs | EVALSHA/s, {CONCURRENT_TASKS} callers |");
        println!("|---|---:|---:|---:|");
        for row in &rows {
            println!(
                "| {} | {:.1} | {:.1} | {:.0} |",
                row.strategy, row.ping_us, row.evalsha_us, row.concurrent_per_s
            );
        }
        let _: () = redis::cmd("DEL").arg(KEY).query_async(&mut conn).await.unwrap();
    });
}
