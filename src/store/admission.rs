//! Admission of a request (`admit.lua`): rate limit, then idempotency, in one round trip.

use sha2::{Digest, Sha256};

use super::{Clock, Store, StoreError, keys::Slot, reply::Reply, scripts};

/// The caller's token bucket. `capacity == 0` means not rate limited (admin routes).
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    pub capacity: u32,
    pub per_minute: u32,
}

/// The bucket after this request (for the `RateLimit` headers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateState {
    pub remaining: u64,
    /// Milliseconds until the bucket is full again.
    pub full_in_ms: u64,
    /// Milliseconds until one token is available (0 unless limited).
    pub retry_in_ms: u64,
}

/// What to do with the request's idempotency key.
#[derive(Debug, Clone)]
pub enum IdempotencyMode {
    /// The request will run: claim the key for `lease_ms`.
    Claim { lease_ms: u64 },
    /// The final response is already known (a cache hit): store it at once.
    Store { status: u16, body: String },
}

/// An idempotency key presented by the client.
#[derive(Debug, Clone)]
pub struct IdempotencyClaim {
    /// The operation the key is scoped to, e.g. `POST /api/simulate`.
    pub scope: &'static str,
    /// SHA-256 (hex) of the client's key.
    pub key_hash: String,
    /// SHA-256 (hex) of the canonical request body.
    pub body_hash: String,
    /// Token proving this request owns the claim.
    pub owner: String,
    pub ttl_seconds: u64,
    pub mode: IdempotencyMode,
}

impl IdempotencyClaim {
    pub fn hash(text: &str) -> String {
        hex::encode(Sha256::digest(text.as_bytes()))
    }
}

/// Outcome of admission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    Admitted,
    Limited,
    /// The stored final response of an earlier request with this key and body.
    Replay {
        status: u16,
        body: String,
    },
    /// A request with this key is still running; its claim ends within `retry_in_ms`.
    InFlight {
        retry_in_ms: u64,
    },
    /// The key was used with a different body.
    Mismatch,
}

impl Store {
    /// Takes a token from `slot`'s bucket and applies `idempotency`; a limited request
    /// writes nothing.
    pub async fn admit(
        &self,
        slot: &Slot,
        limit: RateLimit,
        idempotency: Option<&IdempotencyClaim>,
        clock: Clock,
    ) -> Result<(Admission, RateState), StoreError> {
        let script = &scripts::ADMIT;
        let bucket = self.keys.rate_bucket(slot);
        let mut invocation = script.script.prepare_invoke();
        invocation.key(&bucket);
        match idempotency {
            Some(claim) => {
                invocation.key(self.keys.idempotency(slot, claim.scope, &claim.key_hash));
            }
            None => {
                invocation.key(&bucket);
            }
        }
        invocation
            .arg(clock.arg())
            .arg(limit.capacity)
            .arg(limit.per_minute.max(1));
        match idempotency {
            None => {
                invocation
                    .arg("none")
                    .arg("")
                    .arg("")
                    .arg(0)
                    .arg(0)
                    .arg(0)
                    .arg("");
            }
            Some(claim) => {
                let (mode, lease, status, body) = match &claim.mode {
                    IdempotencyMode::Claim { lease_ms } => ("claim", *lease_ms, 0, ""),
                    IdempotencyMode::Store { status, body } => ("store", 0, *status, body.as_str()),
                };
                invocation
                    .arg(mode)
                    .arg(&claim.body_hash)
                    .arg(&claim.owner)
                    .arg(lease)
                    .arg(claim.ttl_seconds)
                    .arg(status)
                    .arg(body);
            }
        }
        let mut reply = Reply::new(script.name, self.script(script.name, &invocation).await?)?;
        let tag: String = reply.next()?;
        let state = RateState {
            remaining: reply.next()?,
            full_in_ms: reply.next()?,
            retry_in_ms: reply.next()?,
        };
        let admission = match tag.as_str() {
            "admitted" => Admission::Admitted,
            "limited" => Admission::Limited,
            "replay" => Admission::Replay {
                status: reply.next()?,
                body: reply.next()?,
            },
            "in_flight" => Admission::InFlight {
                retry_in_ms: reply.next::<i64>()?.max(0) as u64,
            },
            "mismatch" => Admission::Mismatch,
            other => return Err(reply.unexpected(other)),
        };
        Ok((admission, state))
    }
}

impl Store {
    /// Ends a claim in a slot of its own (see `idempotency_finish.lua`); claims on an actor's
    /// slot end with [`Store::settle`] instead, together with the charge.
    pub async fn idempotency_finish(
        &self,
        slot: &Slot,
        claim: &IdempotencyClaim,
        end: &super::ledger::ClaimEnd<'_>,
    ) -> Result<String, StoreError> {
        let script = &scripts::IDEMPOTENCY_FINISH;
        let mut invocation = script.script.prepare_invoke();
        invocation
            .key(self.keys.idempotency(slot, claim.scope, &claim.key_hash))
            .arg(&claim.owner);
        match end {
            super::ledger::ClaimEnd::Store {
                status,
                body,
                ttl_seconds,
            } => invocation
                .arg("store")
                .arg(*status)
                .arg(*body)
                .arg(*ttl_seconds),
            super::ledger::ClaimEnd::Forget => invocation.arg("forget").arg(0).arg("").arg(0),
        };
        self.script(script.name, &invocation).await
    }
}
