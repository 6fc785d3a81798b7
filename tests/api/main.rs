//! Integration tests: the real application against a real Redis (see `helpers`).

mod errors;
mod fault;
mod helpers;
mod scripts;
mod simulate;
mod startup;
mod store;
mod system;
mod tokens;
