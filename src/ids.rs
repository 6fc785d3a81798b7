//! Unique ids for requests, traces, holds, claims and admissions, made without a system
//! call each.
//!
//! These ids must be unique, not secret: a per-thread SplitMix64 generator, seeded once from
//! the operating system's randomness, gives 64 fresh bits per call (2^64 outputs per seed,
//! each value once). The secrets (API keys) and the simulation seeds picked for a caller do
//! not come from here.

use std::cell::Cell;

thread_local! {
    static STATE: Cell<u64> = Cell::new(uuid::Uuid::new_v4().as_u64_pair().0);
}

/// 64 bits, different on every call of a thread (and, with overwhelming odds, of the process).
pub fn next_u64() -> u64 {
    STATE.with(|state| {
        let z = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        state.set(z);
        let z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        let z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    })
}

/// 128 bits as 32 lowercase hex digits.
pub fn hex128() -> String {
    format!("{:016x}{:016x}", next_u64(), next_u64())
}

/// 64 bits as 16 lowercase hex digits.
pub fn hex64() -> String {
    format!("{:016x}", next_u64())
}

/// A version 4 UUID in its usual form (the request id of a request that brought none).
pub fn uuid() -> String {
    let bytes = (u128::from(next_u64()) << 64 | u128::from(next_u64())).to_be_bytes();
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_their_shape_and_do_not_repeat() {
        let many: std::collections::HashSet<String> = (0..10_000).map(|_| hex128()).collect();
        assert_eq!(many.len(), 10_000);
        assert!(hex128().bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(hex64().len(), 16);
        let id = uuid::Uuid::parse_str(&uuid()).unwrap();
        assert_eq!(id.get_version_num(), 4);
    }

    #[test]
    fn threads_draw_from_streams_of_their_own() {
        let here = hex128();
        let there = std::thread::spawn(hex128).join().unwrap();
        assert_ne!(here, there);
    }
}
