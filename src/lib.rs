//! Trickster Oracle API — educational Elo + Monte Carlo analysis of football matches.
//!
//! Map of the crate (dependencies point one way: `api → domain, store`; `store → domain`):
//! - [`config`]: typed settings from the environment, validated once at startup.
//! - [`telemetry`]: logging set-up.
//! - [`api`]: the HTTP surface, one module per area, described by OpenAPI, inside one request
//!   envelope (request id, problem bodies for every error, `Server-Timing`, access log).
//! - [`domain`]: pure, synchronous logic — the engine, catalogue, fingerprints. No I/O.
//! - [`store`]: the only code that knows Redis — keys, Lua scripts, the connection.
//! - [`ids`]: unique ids for requests, traces, holds and claims.
//! - [`metrics`]: the Prometheus recorder behind `/metrics`.
//! - [`server`]: the connection loop and its edge limits (timeouts, connection cap, HTTP/2).
//! - [`startup`]: [`startup::Application`] builds the server and runs it until a shutdown
//!   signal, draining in-flight requests.
//!
//! Instances hold no state of their own: everything shared lives in Redis, so any number of
//! them behind a load balancer behave like one.

pub mod api;
pub mod config;
pub mod domain;
pub mod ids;
pub mod metrics;
pub mod server;
pub mod startup;
pub mod store;
pub mod telemetry;
