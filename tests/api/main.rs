//! Integration tests: the real application against a real Redis (see `helpers`).

mod clients;
mod contract;
mod edge;
mod errors;
mod exactly_once;
mod fault;
mod helpers;
mod operations;
mod proxy;
mod results;
mod scripts;
mod simulate;
mod startup;
mod store;
mod system;
mod tokens;
