//! Idempotency records: one per (caller, operation, key), in the caller's slot.
//!
//! A request with an `Idempotency-Key` either claims the key while it runs (and ends the
//! claim when it finishes, storing its final response or forgetting a transient one), or, when
//! its final response is known at once, stores it directly. The scripts that do this share
//! `lua/lib/idempotency.lua`; the argument groups they take are built here only.

use super::{
    Slot, Store, StoreError,
    scripts::{self, Call},
};
use crate::domain::digest::sha256_hex;

/// The operations whose requests may carry an idempotency key. Part of the record's key, so
/// a key used on one operation never answers another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Simulate,
    Grant,
}

impl Operation {
    /// The scope in the record's key name.
    pub fn scope(self) -> &'static str {
        match self {
            Operation::Simulate => "POST /api/simulate",
            Operation::Grant => "POST /api/admin/grants",
        }
    }
}

/// What admission does with the key.
#[derive(Debug, Clone)]
pub enum IdempotencyMode {
    /// The request will run: claim the key for `lease_ms`.
    Claim { lease_ms: u64 },
    /// The final response is already known (a cache hit): store it at once.
    Store { status: u16, body: String },
}

/// An idempotency key presented by a client, ready for admission.
#[derive(Debug, Clone)]
pub struct IdempotencyClaim {
    pub operation: Operation,
    /// SHA-256 (hex) of the client's key: any printable key makes a safe key name.
    pub key_hash: String,
    /// SHA-256 (hex) of the canonical request body.
    pub body_hash: String,
    /// Token proving this request owns the claim.
    pub owner: String,
    /// How long a final response is kept.
    pub ttl_seconds: u64,
    pub mode: IdempotencyMode,
}

impl IdempotencyClaim {
    /// A claim for `key` with a fresh owner token.
    pub fn new(
        operation: Operation,
        key: &str,
        canonical_body: &str,
        ttl_seconds: u64,
        mode: IdempotencyMode,
    ) -> Self {
        Self {
            operation,
            key_hash: sha256_hex(key),
            body_hash: sha256_hex(canonical_body),
            owner: crate::ids::hex128(),
            ttl_seconds,
            mode,
        }
    }
}

/// How a claim ends when its request finishes.
#[derive(Debug, Clone)]
pub enum ClaimEnd<'a> {
    /// Keep the final response for replays.
    Store { status: u16, body: &'a str },
    /// A transient outcome: drop the claim so a retry runs again.
    Forget,
}

/// What ending a claim did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimSettled {
    Stored,
    Forgotten,
    /// The claim's lease ran out and the key is free or someone else's; nothing written.
    NotOwner,
    /// There was no claim to end.
    None,
}

impl ClaimSettled {
    pub(super) fn decode(script: &'static str, tag: &str) -> Result<Self, StoreError> {
        match tag {
            "stored" => Ok(Self::Stored),
            "forgotten" => Ok(Self::Forgotten),
            "not_owner" => Ok(Self::NotOwner),
            "none" => Ok(Self::None),
            other => Err(StoreError::protocol(
                script,
                format!("unknown claim outcome {other:?}"),
            )),
        }
    }
}

/// Arguments `idempotency_mode … body` of `admit.lua`.
pub(super) fn push_claim(call: &mut Call, claim: &IdempotencyClaim) {
    let (mode, lease_ms, status, body) = match &claim.mode {
        IdempotencyMode::Claim { lease_ms } => ("claim", *lease_ms, 0, ""),
        IdempotencyMode::Store { status, body } => ("store", 0, *status, body.as_str()),
    };
    call.arg(mode)
        .arg(&claim.body_hash)
        .arg(&claim.owner)
        .arg(lease_ms)
        .arg(claim.ttl_seconds)
        .arg(status)
        .arg(body);
}

/// Arguments `owner … ttl_seconds` of the scripts that end a claim (`None`: no claim).
pub(super) fn push_end(call: &mut Call, end: Option<(&IdempotencyClaim, &ClaimEnd<'_>)>) {
    match end {
        None => call.arg("").arg("").arg(0).arg("").arg(0),
        Some((claim, ClaimEnd::Store { status, body })) => call
            .arg(&claim.owner)
            .arg("store")
            .arg(*status)
            .arg(*body)
            .arg(claim.ttl_seconds),
        Some((claim, ClaimEnd::Forget)) => {
            call.arg(&claim.owner).arg("forget").arg(0).arg("").arg(0)
        }
    };
}

impl Store {
    /// The record key of `claim` in `slot`.
    pub(super) fn idempotency_key(&self, slot: &Slot, claim: &IdempotencyClaim) -> String {
        self.keys
            .idempotency(slot, claim.operation.scope(), &claim.key_hash)
    }

    /// Ends a claim in a slot of its own (`idempotency_finish.lua`, admin grants); claims on
    /// an actor's slot end with [`Store::settle`] instead, together with the charge.
    pub async fn idempotency_finish(
        &self,
        slot: &Slot,
        claim: &IdempotencyClaim,
        end: &ClaimEnd<'_>,
    ) -> Result<ClaimSettled, StoreError> {
        let spec = &scripts::IDEMPOTENCY_FINISH;
        let mut call = Call::new(spec);
        call.key(self.idempotency_key(slot, claim));
        push_end(&mut call, Some((claim, end)));
        let tag: String = redis::from_redis_value(self.run(&call).await?)
            .map_err(|e| StoreError::protocol(spec.name, e.to_string()))?;
        ClaimSettled::decode(spec.name, &tag)
    }
}
