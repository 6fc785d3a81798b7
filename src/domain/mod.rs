//! Pure, synchronous domain logic: the simulation engine, the event catalogue, validated
//! match descriptions and request fingerprints. Nothing here knows about HTTP or Redis.

pub mod analysis;
pub mod catalogue;
pub mod digest;
pub mod engine;
pub mod explain;
pub mod fingerprint;
pub mod matchup;
