//! Integration tests: the real application against a real Redis (see `helpers`).
//!
//! `scripts/test` runs them all on a single Redis; `scripts/cluster-test` runs them on a
//! Redis Cluster, except the module `single_node`, whose tests need a single node by design.
//! The module `failover` is ignored by both: `scripts/failover-test` runs its long runs, each
//! on Redis processes of its own.

mod clients;
mod errors;
mod explore;
mod failover;
mod helpers;
#[cfg(feature = "otlp")]
mod otlp;
mod simulate;
mod single_node;
mod startup;
mod store;
mod system;
mod tokens;
