//! What a cached result is, and an instance's own copy of recent ones.
//!
//! A cached result is the match it is about (its `event`, without a catalogue id) and its
//! numbers (everything else but `meta`), each as the JSON it is served as, one line each. A
//! result is a pure function of its fingerprint (teams, ratings, home advantage, sport,
//! iterations, seed, model version): it never changes, so any copy of it is as good as
//! Redis's. Each instance keeps the recent ones in memory ([`LocalResults`], bounded in
//! bytes), which lets a cache hit skip reading Redis and cost only its admission.

use std::{sync::Arc, time::Duration};

use moka::sync::Cache;

use crate::api::error::ApiError;

/// A cached result: the match, then the numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cached<'a> {
    /// The match as `EventView` JSON, without `event_id`.
    pub event: &'a str,
    /// The numbers as `SimulationNumbers` JSON.
    pub numbers: &'a str,
}

impl<'a> Cached<'a> {
    /// The form the cache stores (compact JSON has no line breaks).
    pub fn encode(&self) -> String {
        format!("{}\n{}", self.event, self.numbers)
    }

    pub fn decode(stored: &'a str) -> Option<Self> {
        let (event, numbers) = stored.split_once('\n')?;
        (event.starts_with('{') && numbers.starts_with('{')).then_some(Self { event, numbers })
    }

    /// [`Self::decode`], or the 500 a damaged entry answers (logged: it is a bug).
    pub fn read<const D: u32>(stored: &'a str) -> Result<Self, ApiError<D>> {
        Self::decode(stored).ok_or_else(|| {
            tracing::error!("a cached result is not an event and numbers");
            ApiError::internal()
        })
    }
}

/// Recent results of this instance, by fingerprint, bounded in bytes (`LOCAL_CACHE_BYTES`;
/// 0 keeps none) and kept at most `CACHE_TTL_SECONDS` from when this instance saw them.
#[derive(Clone)]
pub struct LocalResults(Option<Cache<String, Arc<str>>>);

impl LocalResults {
    pub fn new(max_bytes: u64, ttl: Duration) -> Self {
        Self((max_bytes > 0).then(|| {
            Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|fingerprint: &String, stored: &Arc<str>| {
                    u32::try_from(fingerprint.len() + stored.len()).unwrap_or(u32::MAX)
                })
                .time_to_live(ttl)
                .build()
        }))
    }

    pub fn get(&self, fingerprint: &str) -> Option<Arc<str>> {
        self.0.as_ref()?.get(fingerprint)
    }

    pub fn insert(&self, fingerprint: &str, stored: &str) {
        if let Some(cache) = &self.0 {
            cache.insert(fingerprint.to_owned(), Arc::from(stored));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_result_reads_back_as_written() {
        let cached = Cached {
            event: r#"{"home_team":"A"}"#,
            numbers: r#"{"iterations":100}"#,
        };
        assert_eq!(Cached::decode(&cached.encode()), Some(cached));
        assert_eq!(Cached::decode(r#"{"only":"numbers"}"#), None);
    }

    #[test]
    fn the_local_copy_holds_what_it_is_given_and_can_be_off() {
        let on = LocalResults::new(1 << 20, Duration::from_secs(60));
        let off = LocalResults::new(0, Duration::from_secs(60));
        on.insert("fp", "stored");
        off.insert("fp", "stored");
        assert_eq!(on.get("fp").as_deref(), Some("stored"));
        assert_eq!(off.get("fp"), None);
    }
}
