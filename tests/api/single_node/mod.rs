//! Tests whose Redis must be a single node, so the cluster run (`scripts/cluster-test`)
//! leaves this module out: they start a Redis of their own to stop it, pause it or give it
//! a password or TLS, put a proxy in front of it, or read keys with a single-node client. A test belongs here when,
//! and only when, it cannot run against a cluster; everything else runs on both.

mod contract;
mod edge;
mod exactly_once;
mod operations;
mod proxy;
mod redis_access;
mod redis_outage;
mod replica_acks;
mod results;
mod sentinel;
// The script tests' fixture inspects keys (KEYS, DUMP) with a single-node client.
#[path = "../scripts/mod.rs"]
mod scripts;
