//! Every Redis key name the service uses, built in one place.
//!
//! Keys that one script touches together share a hash tag (`{...}`), so each script's keys
//! live in one cluster slot and the same scripts run unchanged on Redis Cluster:
//! - `{c:<fingerprint>}` — a cached simulation and the single-flight lock that guards it;
//! - `{a:<actor>}` — everything about one actor: balance, ledger, holds, idempotency records,
//!   rate-limit bucket;
//! - `{ip:<address>}` — the rate-limit bucket of an anonymous caller;
//! - `{k:<key id>}` — an API key record.
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

    /// An actor's account hash (balance, allowance day, last update).
    pub fn account(&self, actor: &str) -> String {
        format!("{}:{{a:{actor}}}:account", self.prefix)
    }

    /// An actor's append-only ledger (a stream).
    pub fn ledger(&self, actor: &str) -> String {
        format!("{}:{{a:{actor}}}:ledger", self.prefix)
    }

    /// An actor's open holds.
    pub fn holds(&self, actor: &str) -> String {
        format!("{}:{{a:{actor}}}:holds", self.prefix)
    }

    /// Marker that a grant id was applied to an actor (exactly-once grants).
    pub fn grant_marker(&self, actor: &str, grant_id: &str) -> String {
        format!("{}:{{a:{actor}}}:grant:{grant_id}", self.prefix)
    }

    /// The rate-limit bucket of a caller.
    pub fn rate_bucket(&self, slot: &Slot) -> String {
        format!("{}:{}:rate", self.prefix, slot.tag())
    }

    /// An idempotency record: scoped to the caller's slot and the operation (`scope`), named
    /// by the SHA-256 of the client's key so any printable key makes a safe key name.
    pub fn idempotency(&self, slot: &Slot, scope: &str, key_hash: &str) -> String {
        format!("{}:{}:idem:{scope}:{key_hash}", self.prefix, slot.tag())
    }

    /// The index of a caller's live idempotency records (a sorted set by expiry).
    pub fn idempotency_index(&self, slot: &Slot) -> String {
        format!("{}:{}:idem-index", self.prefix, slot.tag())
    }

    /// An API key record, by key id.
    pub fn api_key(&self, key_id: &str) -> String {
        format!("{}:{{k:{key_id}}}:key", self.prefix)
    }
}

/// Whose keys a request touches: one hash slot per caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    /// An authenticated actor: account, ledger, holds, bucket, idempotency records.
    Actor(String),
    /// An anonymous caller, by client address: only a rate-limit bucket.
    Ip(String),
    /// The administrator: idempotency records of admin operations.
    Admin,
}

impl Slot {
    fn tag(&self) -> String {
        match self {
            Slot::Actor(actor) => format!("{{a:{actor}}}"),
            Slot::Ip(address) => format!("{{ip:{address}}}"),
            Slot::Admin => String::from("{adm}"),
        }
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
    fn every_key_of_an_actor_shares_one_slot() {
        let keys = Keys::new("to");
        let slot = Slot::Actor("alice".into());
        let tags: Vec<String> = [
            keys.account("alice"),
            keys.ledger("alice"),
            keys.holds("alice"),
            keys.grant_marker("alice", "g1"),
            keys.rate_bucket(&slot),
            keys.idempotency(&slot, "simulate", "abc"),
            keys.idempotency_index(&slot),
        ]
        .iter()
        .map(|k| hash_tag(k).to_owned())
        .collect();
        assert!(tags.iter().all(|t| t == "a:alice"), "{tags:?}");
    }

    #[test]
    fn the_admin_slot_cannot_collide_with_an_actor_named_admin() {
        let keys = Keys::new("to");
        assert_ne!(
            keys.idempotency(&Slot::Admin, "grants", "h"),
            keys.idempotency(&Slot::Actor("admin".into()), "grants", "h")
        );
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
