//! Every Redis key name the service uses, built in one place.
//!
//! Keys that one script touches together share a hash tag (`{...}`), so each script's keys
//! live in one cluster slot and the same scripts run unchanged on Redis Cluster:
//! - `{c:<fingerprint>}` — a cached simulation and the single-flight lock that guards it;
//! - `{a:<actor>}` — everything about one actor: balance, ledger, holds, idempotency records,
//!   rate-limit bucket;
//! - `{ip:<address>}` — the rate-limit bucket of an anonymous caller;
//! - `{k:<key hash>}` — an API key record.
//!
//! Every key starts with `REDIS_KEY_PREFIX`, so deployments can share one Redis.

#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The cached result of a simulation, by fingerprint.
    pub fn cache_result(&self, fingerprint: &str) -> String {
        format!("{}:{{c:{fingerprint}}}:result", self.prefix)
    }

    /// The single-flight lock held by the instance computing a fingerprint.
    pub fn cache_lock(&self, fingerprint: &str) -> String {
        format!("{}:{{c:{fingerprint}}}:lock", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The part of a key Redis Cluster hashes: the first `{...}` with content.
    fn hash_tag(key: &str) -> &str {
        let open = key.find('{').expect("key has a hash tag");
        let close = key[open..].find('}').expect("hash tag is closed") + open;
        &key[open + 1..close]
    }

    #[test]
    fn cache_keys_of_one_fingerprint_share_a_slot() {
        let keys = Keys::new("to");
        let fp = "ab".repeat(32);
        assert_eq!(
            hash_tag(&keys.cache_result(&fp)),
            hash_tag(&keys.cache_lock(&fp))
        );
        assert!(keys.cache_result(&fp).starts_with("to:"));
    }

    #[test]
    fn the_prefix_separates_deployments() {
        let fp = "00".repeat(32);
        assert_ne!(
            Keys::new("a").cache_result(&fp),
            Keys::new("b").cache_result(&fp)
        );
    }
}
