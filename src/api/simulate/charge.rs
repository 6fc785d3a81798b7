//! What a computed simulation costs: a hold on the caller's account, taken just before the
//! engine runs and settled when the request ends — committed when it succeeded, refunded
//! when it failed.
//!
//! The hold's id is chosen before the hold is asked for, so a request whose hold call failed
//! without an answer (the script may have run) can still refund exactly that hold.

use super::SimError;
use crate::{
    api::error::{ApiError, ProblemCode},
    config::Settings,
    store::{
        Store, StoreError,
        ledger::{Hold, HoldEnd, HoldOutcome, HoldRequest},
    },
};

/// Ledger text of a refunded hold.
pub(super) const REFUND_REASON: &str = "simulation failed";

/// The charge planned for one request (`None` inside when simulations are free).
pub struct Charge<'a>(Option<HoldRequest<'a>>);

/// What this request holds on the account.
#[derive(Debug)]
pub enum Held {
    Nothing,
    Confirmed(Hold),
    /// The hold call ended without an answer: a hold with the planned id may exist.
    Unknown,
}

/// A failed computation, with whatever it may have held.
pub struct Failure {
    pub error: SimError,
    pub held: Held,
}

/// Failures of the cache protocol around a computation hold nothing.
impl From<StoreError> for Failure {
    fn from(err: StoreError) -> Self {
        Self {
            error: err.into(),
            held: Held::Nothing,
        }
    }
}

impl<'a> Charge<'a> {
    pub fn new(settings: &Settings, actor: &'a str, request_id: &'a str) -> Self {
        let cost = settings.simulation_cost;
        Self((cost > 0).then(|| HoldRequest {
            actor,
            cost,
            hold_id: crate::ids::hex128(),
            lease_ms: settings.hold_lease_seconds * 1000,
            request_id,
            reason: "simulation",
        }))
    }

    /// Tokens charged when this request computes.
    pub fn cost(&self) -> i64 {
        self.0.as_ref().map_or(0, |r| r.cost)
    }

    /// Takes the cost as a hold, or fails with 402 (nothing held).
    pub async fn take(&self, store: &Store) -> Result<Held, Failure> {
        let Some(request) = &self.0 else {
            return Ok(Held::Nothing);
        };
        match store.hold(request).await {
            Ok(HoldOutcome::Held { hold, .. }) => Ok(Held::Confirmed(hold)),
            Ok(HoldOutcome::Insufficient { balance }) => {
                let cost = request.cost;
                let mut error = ApiError::new(
                    ProblemCode::InsufficientTokens,
                    format!(
                        "This simulation costs {cost} token{}; {balance} available.",
                        if cost == 1 { "" } else { "s" }
                    ),
                );
                error.required = Some(cost);
                error.available = Some(balance);
                Err(Failure {
                    error,
                    held: Held::Nothing,
                })
            }
            Err(err) => Err(Failure {
                error: err.into(),
                held: Held::Unknown,
            }),
        }
    }

    /// How the hold ends: committed when the request succeeded, else refunded.
    pub fn end(&self, held: Held, succeeded: bool) -> HoldEnd<'_> {
        let refund = |hold_id| HoldEnd::Refund {
            hold_id,
            reason: REFUND_REASON,
        };
        match (held, &self.0) {
            (Held::Nothing, _) | (_, None) => HoldEnd::None,
            (Held::Confirmed(hold), _) if succeeded => HoldEnd::Commit(hold),
            (Held::Confirmed(_) | Held::Unknown, Some(request)) => refund(&request.hold_id),
        }
    }
}
