//! Test harness: real application instances against a real Redis. Every Redis and every
//! service process is started by `tools/localstack`, the same code the scripts use.
//!
//! - [`redis`]: the Redis every ordinary test shares (isolated by key prefix), private ones
//!   a test owns ([`OwnedRedis`]: stop, restart), and direct connections that work on a
//!   single node and on a cluster.
//! - [`replicated`]: Redis with replicas a test owns: a Sentinel group ([`Sentinels`]) or a
//!   cluster ([`Cluster`]) whose primaries can be killed and brought back, replicas paused.
//! - [`app`]: [`spawn_app`] starts an instance in-process on port 0, [`TestApp::sibling`]
//!   another one on the same Redis and prefix (how tests prove that several instances
//!   behave like one), [`spawn_process`] the binary as a process of its own.
//! - [`requests`]: typed requests on [`TestApp`] (`simulate`, `balance`, `ledger`, `grant`,
//!   ...), so tests say what they ask, not how the headers are spelled.
//! - [`assertions`]: JSON bodies and the RFC 9457 problem shape.

mod app;
mod assertions;
mod redis;
mod replicated;
mod requests;

pub use app::{TestApp, TestConfig, spawn_app, spawn_app_with, spawn_process};
pub use assertions::{assert_problem, header, json_body};
pub use redis::{OwnedRedis, redis_connection, shared_redis_url};
pub use replicated::{Cluster, Sentinels};
pub use requests::{SLOW_BODY_SIGNAL_AFTER, slow_simulation_body};
