//! One way to start the project's local processes, shared by the integration tests (a
//! dev-dependency) and the scripts (the `localstack` binary, see `main.rs`).
//!
//! - [`redis`]: one Redis on a free loopback port, as a `redis-server` process or as a
//!   container of the project's image; plain, with a password, TLS or append-only
//!   persistence; stop, kill, pause, resume, restart with its data.
//! - [`container`]: long-lived named Redis containers, reused across runs (the tests' shared
//!   Redis, the one `scripts/serve` uses).
//! - [`cluster`]: a Redis Cluster of N primaries with R replicas each; kill a primary, wait
//!   for the failover.
//! - [`sentinel`]: a primary, replicas and three Sentinels; kill the primary, wait for the
//!   promotion, bring it back as a replica; optionally a replication link that lags
//!   ([`link`]), cut with the primary.
//! - [`service`]: the service binary on a free port, ready when `/ready` answers 200, stopped
//!   with SIGTERM then SIGKILL.
//! - [`stack`]: a Redis and groups of instances together, and the environment file the
//!   scripts source.
//! - [`images`]: image names behind the one variable `TRICKSTER_IMAGE_PREFIX`.
//!
//! Everything is synchronous (std::process, std::net): async callers run it on a blocking
//! thread. Every wait is bounded and every failure says what failed, with the end of the
//! log. Working directories live under `$TMPDIR` and are removed on drop unless the logs are
//! kept.

pub mod cluster;
pub mod container;
pub mod docker;
mod error;
pub mod images;
pub mod link;
pub mod net;
mod process;
pub mod redis;
pub mod resp;
pub mod sentinel;
pub mod service;
pub mod stack;
pub mod tls;
pub mod workdir;

pub use cluster::{ClusterSpec, RedisCluster};
pub use container::NamedContainer;
pub use error::{Error, Result};
pub use net::{free_port, free_ports};
pub use process::{Signal, end_children_with_their_starter};
pub use redis::{Redis, RedisSpec};
pub use sentinel::{SentinelGroup, SentinelSpec};
pub use service::{Service, ServiceSpec};
pub use stack::{GroupSpec, RedisKind, Stack, StackSpec};
