//! The engine's place in a busy server: at most one simulation per core runs at a time, on
//! blocking threads (never on the async reactor), and at most `ENGINE_QUEUE_MAX` more wait
//! for a thread. A request reserves its place before admission — before any token is held
//! or any key claimed — so a full queue answers a clean 503 `overloaded` at once.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Instant,
};

use poem_openapi::types::ToJSON;
use tokio::sync::Semaphore;

use super::{SimError, plan::Plan, wire::SimulationNumbers};
use crate::{api::error::ApiError, domain::analysis::analyse};

/// The engine threads and their queue, shared by every request of an instance.
#[derive(Clone)]
pub struct EnginePool {
    threads: Arc<Semaphore>,
    /// Requests holding a place: running or waiting.
    places: Arc<AtomicUsize>,
    capacity: usize,
}

impl EnginePool {
    /// One thread per core, and `queue` places to wait.
    pub fn new(queue: usize) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            threads: Arc::new(Semaphore::new(cores)),
            places: Arc::default(),
            capacity: cores + queue,
        }
    }

    /// A place in the queue, or `None` when it is full.
    pub fn reserve(&self) -> Option<EngineTicket> {
        self.places
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |taken| {
                (taken < self.capacity).then_some(taken + 1)
            })
            .ok()
            .map(|taken| {
                crate::metrics::set_engine_queue_depth(taken + 1);
                EngineTicket { pool: self.clone() }
            })
    }

    /// Places taken (running or waiting).
    pub fn depth(&self) -> usize {
        self.places.load(Ordering::Acquire)
    }
}

/// A reserved place; released when dropped.
pub struct EngineTicket {
    pool: EnginePool,
}

impl Drop for EngineTicket {
    fn drop(&mut self) {
        let before = self.pool.places.fetch_sub(1, Ordering::AcqRel);
        crate::metrics::set_engine_queue_depth(before - 1);
    }
}

impl EngineTicket {
    /// Waits for a thread, runs the engine there, and returns the analysis as the JSON the
    /// cache stores ([`SimulationNumbers`]) with the engine time in ms.
    pub async fn run(&self, plan: &Plan) -> Result<(String, f64), SimError> {
        let waiting = Instant::now();
        let _thread = self
            .pool
            .threads
            .acquire()
            .await
            .map_err(|_| ApiError::internal())?;
        crate::metrics::record_engine_wait(waiting.elapsed());
        let matchup = plan.matchup.clone();
        let (iterations, seed) = (plan.iterations, plan.seed);
        let span = tracing::Span::current();
        let joined = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let started = Instant::now();
            let analysis = analyse(&matchup, iterations, seed);
            let elapsed = started.elapsed();
            crate::metrics::record_engine(iterations, elapsed);
            let json = SimulationNumbers::new(analysis).to_json_string();
            (json, elapsed.as_secs_f64() * 1e3)
        })
        .await;
        joined.map_err(|err| {
            tracing::error!(error = %err, "engine task failed");
            ApiError::internal()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_run_out_at_threads_plus_queue_and_come_back_when_released() {
        let pool = EnginePool::new(2);
        let capacity = pool.capacity;

        let tickets: Vec<EngineTicket> = (0..capacity).filter_map(|_| pool.reserve()).collect();

        assert_eq!(tickets.len(), capacity);
        assert!(pool.reserve().is_none(), "the queue is full");
        drop(tickets);
        assert_eq!(pool.depth(), 0);
        assert!(pool.reserve().is_some());
    }
}
