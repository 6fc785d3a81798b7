//! Deterministic fingerprints of simulation inputs (the cache key).
//!
//! The fingerprint is the SHA-256 of a canonical JSON document holding exactly the inputs
//! that determine the numbers: the match, iterations, seed and model version. Keys are
//! sorted, there is no whitespace, and numbers are written canonically (an integral value as
//! an integer, so `2100` and `2100.0` agree). Where the match came from (catalogue or inline)
//! is not part of it.

use serde::Serialize;

use super::digest::sha256_hex;
use super::{engine::MODEL_VERSION, matchup::Matchup};

/// Largest integer an f64 represents exactly; beyond it integers are written as floats.
const EXACT_INTEGER_LIMIT: f64 = 9_007_199_254_740_992.0;

/// A number as the canonical text writes it.
#[derive(Serialize)]
#[serde(untagged)]
enum Number {
    Integer(i64),
    Float(f64),
}

fn canonical_number(value: f64) -> Number {
    if value.fract() == 0.0 && value.abs() < EXACT_INTEGER_LIMIT {
        Number::Integer(value as i64)
    } else {
        Number::Float(value)
    }
}

/// The hashed document. Fields are declared in sorted order, the order serde writes them
/// (a test pins the text).
#[derive(Serialize)]
struct Canonical<'a> {
    away_rating: Number,
    away_team: &'a str,
    home_advantage: Number,
    home_rating: Number,
    home_team: &'a str,
    iterations: u32,
    model_version: &'static str,
    seed: u64,
    sport: &'a str,
}

/// The canonical JSON text that is hashed.
pub fn canonical_json(matchup: &Matchup, iterations: u32, seed: u64) -> String {
    let document = Canonical {
        away_rating: canonical_number(matchup.away_rating),
        away_team: &matchup.away_team,
        home_advantage: canonical_number(matchup.home_advantage),
        home_rating: canonical_number(matchup.home_rating),
        home_team: &matchup.home_team,
        iterations,
        model_version: MODEL_VERSION,
        seed,
        sport: &matchup.sport,
    };
    serde_json::to_string(&document).expect("the canonical document serialises")
}

/// SHA-256 (lower-case hex) of [`canonical_json`].
pub fn fingerprint(matchup: &Matchup, iterations: u32, seed: u64) -> String {
    sha256_hex(&canonical_json(matchup, iterations, seed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalogue;

    fn barca() -> Matchup {
        catalogue::find("demo_001").unwrap().matchup()
    }

    #[test]
    fn the_fingerprint_is_64_hex_characters() {
        let fp = fingerprint(&barca(), 10_000, 42);
        assert_eq!(fp.len(), 64);
        assert!(
            fp.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
    }

    #[test]
    fn integral_floats_and_integers_agree() {
        // 2100 and 2100.0 parse to the same f64; the canonical form writes it as 2100.
        let json = canonical_json(&barca(), 10_000, 42);
        assert!(json.contains("\"home_rating\":2100,"), "{json}");
        let mut fractional = barca();
        fractional.home_rating = 2100.5;
        assert!(canonical_json(&fractional, 10_000, 42).contains("2100.5"));
    }

    #[test]
    fn the_canonical_json_has_sorted_keys_and_no_whitespace() {
        let json = canonical_json(&barca(), 100, 1);
        assert_eq!(
            json,
            "{\"away_rating\":2050,\"away_team\":\"Real Madrid\",\"home_advantage\":100,\
             \"home_rating\":2100,\"home_team\":\"Barcelona\",\"iterations\":100,\
             \"model_version\":\"elo-logistic-mc/2\",\"seed\":1,\"sport\":\"football\"}"
        );
    }

    #[test]
    fn catalogue_and_identical_inline_match_agree() {
        let inline = Matchup {
            home_team: "Barcelona".into(),
            away_team: "Real Madrid".into(),
            home_rating: 2100.0,
            away_rating: 2050.0,
            home_advantage: 100.0,
            sport: "football".into(),
        };
        assert_eq!(
            fingerprint(&barca(), 10_000, 42),
            fingerprint(&inline, 10_000, 42)
        );
    }

    #[test]
    fn every_number_determining_input_changes_the_fingerprint() {
        let base = fingerprint(&barca(), 10_000, 42);
        let variants: [fn(&mut Matchup); 5] = [
            |m| m.home_team.push('x'),
            |m| m.away_team.push('x'),
            |m| m.home_rating += 1.0,
            |m| m.away_rating += 0.5,
            |m| m.home_advantage = 0.0,
        ];
        for change in variants {
            let mut m = barca();
            change(&mut m);
            assert_ne!(fingerprint(&m, 10_000, 42), base);
        }
        assert_ne!(fingerprint(&barca(), 10_001, 42), base);
        assert_ne!(fingerprint(&barca(), 10_000, 43), base);
    }
}
