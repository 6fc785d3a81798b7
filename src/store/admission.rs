//! Admission of a request in one round trip: the rate limit (`rate.lua`), or the rate limit
//! then the idempotency key (`admit.lua`).

use super::{
    Slot, Store, StoreError,
    idempotency::{self, IdempotencyClaim},
    reply::Reply,
    scripts::{self, Call, ScriptSpec},
};

/// The caller's token bucket: `capacity` tokens, refilled at `per_minute`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub capacity: u32,
    pub per_minute: u32,
}

/// The bucket after this request (for the `RateLimit` headers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateState {
    pub remaining: u64,
    /// Milliseconds until the next token arrives (0 when the bucket is full).
    pub next_in_ms: u64,
    /// Milliseconds until one token is available (0 unless limited).
    pub retry_in_ms: u64,
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
    /// The caller holds as many live idempotency records as it may; one expires within
    /// `retry_in_ms`. Nothing was written.
    TooManyKeys {
        retry_in_ms: u64,
    },
}

impl Store {
    /// Takes a token from `slot`'s bucket (`limit = None`: not rate limited) and applies
    /// `idempotency`; a limited request writes nothing.
    pub async fn admit(
        &self,
        slot: &Slot,
        limit: Option<RateLimit>,
        idempotency: Option<&IdempotencyClaim>,
    ) -> Result<(Admission, RateState), StoreError> {
        let bucket = self.keys.rate_bucket(slot);
        // Capacity 0 is the scripts' "not rate limited"; the refill must still be positive.
        let (capacity, per_minute) = limit.map_or((0, 1), |l| (l.capacity, l.per_minute.max(1)));
        let (time, admission_id) = (self.clock.arg(), crate::ids::hex128());
        // Without a key, the rate limit alone (the most frequent admission, a cache hit's
        // only Redis command): a smaller script with a third of the arguments.
        let Some(claim) = idempotency else {
            let mut call = Call::new(&scripts::RATE);
            call.key(&bucket)
                .arg(time)
                .arg(admission_id)
                .arg(capacity)
                .arg(per_minute);
            return decode(&scripts::RATE, self.run(&call).await?);
        };
        // The administrator's records are not limited in number: only an admin makes them.
        let max_records = match slot {
            Slot::Admin => u32::MAX,
            _ => self.idempotency_max_keys,
        };
        let mut call = Call::new(&scripts::ADMIT);
        call.key(&bucket)
            .key(self.idempotency_key(slot, claim))
            .key(self.keys.idempotency_index(slot))
            .arg(time)
            .arg(admission_id)
            .arg(capacity)
            .arg(per_minute);
        idempotency::push_claim(&mut call, claim);
        call.arg(max_records);
        let (admission, state) = decode(&scripts::ADMIT, self.run(&call).await?)?;
        // A replayed answer acknowledges what it reports: with replica acknowledgements, it
        // is sent only once the replicas have it too (the request that stored it may have
        // failed to get it confirmed). Administrators' answers are exempt: a grant's truth is
        // its marker, confirmed by the grant script itself, which a retry runs again.
        if let (Admission::Replay { .. }, Some(_)) = (&admission, limit) {
            self.confirm_replay(slot, claim).await?;
        }
        Ok((admission, state))
    }

    /// Waits until the replicas have the stored answer of `claim` (no-op without replica
    /// acknowledgements). The answer was written through another connection, so it is first
    /// rewritten unchanged through the one that waits.
    async fn confirm_replay(
        &self,
        slot: &Slot,
        claim: &IdempotencyClaim,
    ) -> Result<(), StoreError> {
        let Some(acks) = &self.acks else {
            return Ok(());
        };
        let spec = &scripts::IDEMPOTENCY_CONFIRM;
        let mut call = Call::new(spec);
        call.key(self.idempotency_key(slot, claim));
        let rewritten = self
            .run_account(&call, |value| {
                let rewritten = redis::from_redis_value::<i64>(value)
                    .map_err(|e| StoreError::protocol(spec.name, e.to_string()))?
                    == 1;
                Ok((rewritten, rewritten))
            })
            .await?;
        if rewritten {
            Ok(())
        } else {
            // The answer went away between the read and the rewrite: nothing to confirm, and
            // nothing to replay; the client's retry runs afresh.
            Err(StoreError::Unconfirmed {
                wanted: acks.replicas,
                acknowledged: 0,
            })
        }
    }
}

/// The reply of `rate.lua` or `admit.lua` (the first only answers "admitted" or "limited").
fn decode(
    spec: &'static ScriptSpec,
    value: redis::Value,
) -> Result<(Admission, RateState), StoreError> {
    let mut reply = Reply::new(spec.name, value)?;
    let tag: String = reply.next()?;
    let state = RateState {
        remaining: reply.next()?,
        next_in_ms: reply.next()?,
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
        "too_many_keys" => Admission::TooManyKeys {
            retry_in_ms: reply.next::<i64>()?.max(0) as u64,
        },
        other => return Err(reply.unexpected(other)),
    };
    Ok((admission, state))
}
