//! The simulation cache, keyed by fingerprint, with single flight across instances.
//!
//! [`Store::cache_fetch_or_compute`] is the whole protocol: look the fingerprint up; on a miss
//! claim a short lock (`cache_claim.lua`) so that exactly one request cluster-wide computes,
//! while the others poll for the result until a bounded wait runs out — then they compute
//! themselves rather than fail. The computing request stores the result and releases the
//! lock in one script (`cache_store.lua`), or releases it at once if it fails.

use std::time::{Duration, Instant};

use redis::Value;

use super::{
    Store, StoreError,
    scripts::{self, Call},
};

/// A cached value and how it was obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched<T> {
    /// Found in the cache at once.
    Hit(String),
    /// Another request was computing it; this one waited and then found it.
    Collapsed(String),
    /// Computed by this request (and stored), with what the computation returned besides.
    Computed(String, T),
}

impl<T> Fetched<T> {
    /// The cached JSON.
    pub fn json(&self) -> &str {
        match self {
            Self::Hit(json) | Self::Collapsed(json) | Self::Computed(json, _) => json,
        }
    }
}

/// Reply of `cache_claim.lua`.
#[derive(Debug, PartialEq)]
enum Claim {
    Hit(String),
    Claimed,
    Busy { remaining_ms: i64 },
}

impl Claim {
    fn decode(value: Value) -> Result<Self, StoreError> {
        let bad = |detail: String| StoreError::protocol(scripts::CACHE_CLAIM.name, detail);
        let Value::Array(items) = value else {
            return Err(bad(format!("expected an array, got {value:?}")));
        };
        let mut items = items.into_iter();
        let tag: String = match items.next() {
            Some(v) => redis::from_redis_value(v).map_err(|e| bad(e.to_string()))?,
            None => return Err(bad("empty reply".into())),
        };
        match (tag.as_str(), items.next()) {
            ("hit", Some(v)) => Ok(Self::Hit(
                redis::from_redis_value(v).map_err(|e| bad(e.to_string()))?,
            )),
            ("claimed", None) => Ok(Self::Claimed),
            ("busy", Some(v)) => Ok(Self::Busy {
                remaining_ms: redis::from_redis_value(v).map_err(|e| bad(e.to_string()))?,
            }),
            (other, _) => Err(bad(format!("unknown reply {other:?}"))),
        }
    }
}

/// Settings of one cache operation.
#[derive(Debug, Clone, Copy)]
pub struct CachePolicy {
    /// Time to live of a stored result.
    pub ttl_seconds: u64,
    /// How long a request waits for another instance's computation before computing itself.
    pub max_wait: Duration,
}

impl Store {
    /// A plain read of a cached result.
    pub async fn cache_get(&self, fingerprint: &str) -> Result<Option<String>, StoreError> {
        self.command(redis::cmd("GET").arg(self.keys.cache_result(fingerprint)))
            .await
    }

    /// Returns the cached JSON for `fingerprint`, computing it with `compute` when no
    /// request anywhere has, and waiting (bounded) when another request is computing it.
    ///
    /// `compute` runs at most once per call. Its error is returned as is, after the lock has
    /// been released for the next request. A result that was computed but could not be
    /// stored is still returned (the next request computes it again).
    pub async fn cache_fetch_or_compute<T, E, F, Fut>(
        &self,
        fingerprint: &str,
        policy: CachePolicy,
        compute: F,
    ) -> Result<Fetched<T>, E>
    where
        E: From<StoreError>,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(String, T), E>>,
    {
        let owner = crate::ids::hex128();
        // The lease outlives a normal computation comfortably; it only matters when the
        // owner dies, and then waiters stop waiting at `max_wait` anyway.
        let lease_ms = (policy.max_wait.as_millis() as u64).max(1_000);
        let deadline = Instant::now() + policy.max_wait;
        let mut pause = Duration::from_millis(2);
        let mut waited = false;
        loop {
            let claim = self.cache_claim(fingerprint, &owner, lease_ms).await?;
            match claim {
                Claim::Hit(json) if waited => return Ok(Fetched::Collapsed(json)),
                Claim::Hit(json) => return Ok(Fetched::Hit(json)),
                Claim::Claimed => break,
                Claim::Busy { remaining_ms } => {
                    let now = Instant::now();
                    if now >= deadline {
                        // The computing request is slow or gone: compute without the lock
                        // rather than keep the client waiting.
                        tracing::warn!(fingerprint, "single-flight wait ran out; computing");
                        break;
                    }
                    waited = true;
                    let lock_left = Duration::from_millis(remaining_ms.max(1) as u64);
                    let sleep = pause.min(deadline - now).min(lock_left);
                    tokio::time::sleep(sleep).await;
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
            }
        }

        match compute().await {
            Ok((json, extra)) => {
                if let Err(err) = self
                    .cache_store(fingerprint, &owner, &json, policy.ttl_seconds)
                    .await
                {
                    tracing::warn!(error = %err, fingerprint, "could not store a computed result");
                }
                Ok(Fetched::Computed(json, extra))
            }
            Err(err) => {
                if let Err(release) = self.cache_release(fingerprint, &owner).await {
                    tracing::warn!(error = %release, "could not release the compute lock");
                }
                Err(err)
            }
        }
    }

    async fn cache_claim(
        &self,
        fingerprint: &str,
        owner: &str,
        lease_ms: u64,
    ) -> Result<Claim, StoreError> {
        let mut call = Call::new(&scripts::CACHE_CLAIM);
        call.key(self.keys.cache_result(fingerprint))
            .key(self.keys.cache_lock(fingerprint))
            .arg(owner)
            .arg(lease_ms);
        Claim::decode(self.run(&call).await?)
    }

    /// Stores a result (also without having claimed it, e.g. for unseeded requests).
    pub async fn cache_store(
        &self,
        fingerprint: &str,
        owner: &str,
        json: &str,
        ttl_seconds: u64,
    ) -> Result<(), StoreError> {
        let mut call = Call::new(&scripts::CACHE_STORE);
        call.key(self.keys.cache_result(fingerprint))
            .key(self.keys.cache_lock(fingerprint))
            .arg(owner)
            .arg(json)
            .arg(ttl_seconds);
        self.run(&call).await?;
        Ok(())
    }

    async fn cache_release(&self, fingerprint: &str, owner: &str) -> Result<(), StoreError> {
        let mut call = Call::new(&scripts::CACHE_RELEASE);
        call.key(self.keys.cache_lock(fingerprint)).arg(owner);
        self.run(&call).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn claim_replies_decode_into_outcomes() {
        assert_eq!(
            Claim::decode(Value::Array(vec![bulk("hit"), bulk("{}")])).unwrap(),
            Claim::Hit("{}".into())
        );
        assert_eq!(
            Claim::decode(Value::Array(vec![bulk("claimed")])).unwrap(),
            Claim::Claimed
        );
        assert_eq!(
            Claim::decode(Value::Array(vec![bulk("busy"), Value::Int(40)])).unwrap(),
            Claim::Busy { remaining_ms: 40 }
        );
    }

    #[test]
    fn an_unknown_claim_reply_is_a_protocol_error() {
        assert!(matches!(
            Claim::decode(Value::Array(vec![bulk("maybe")])),
            Err(StoreError::Protocol { .. })
        ));
        assert!(Claim::decode(Value::Int(1)).is_err());
    }
}
