//! The miss path of `POST /api/simulate`, after admission: compute (or wait for the instance
//! computing the same fingerprint), then settle the charge and the idempotency key together.
//!
//! It runs as a task of its own ([`Miss::spawn`]) so that a client that goes away mid-request
//! cannot cut it short: whatever it holds or claims is settled either way. Its work is bounded
//! by `REQUEST_TIMEOUT_MS`. A request that ends in a transient error leaves nothing behind:
//! its settle refunds the hold and drops the claim, or, when Redis cannot take even that, a
//! cleanup keeps trying in the background ([`cleanup`]) before the leases would.

use std::{sync::Arc, time::Duration};

use poem_openapi::types::ToJSON;

use super::{
    CacheStatus, SimError, SimulateResponse,
    charge::{Charge, Failure, Held, REFUND_REASON},
    engine::EngineTicket,
    local::{Cached, LocalResults},
    plan::Plan,
    result,
};
use crate::{
    api::{
        context::RequestContext,
        error::{ApiError, ProblemCode},
        json::RenderedJson,
        model::EventView,
    },
    config::Settings,
    store::{
        Store, StoreError,
        cache::{CachePolicy, Fetched},
        idempotency::{ClaimEnd, IdempotencyClaim},
        ledger::{HoldEnd, Settlement},
    },
};

/// A computation this request ran: what it held and how long the engine took.
pub(super) struct Computed {
    held: Held,
    engine_ms: f64,
}

/// Everything the miss path needs, owned, so it can run as its own task.
pub(super) struct Miss {
    pub settings: Arc<Settings>,
    /// The request's store (its Redis budget).
    pub store: Store,
    /// A store without the request's budget, for the cleanup after a failure.
    pub cleanup_store: Store,
    pub ctx: RequestContext,
    pub plan: Plan,
    pub actor: String,
    pub claim: Option<IdempotencyClaim>,
    pub engine: EngineTicket,
    pub local: LocalResults,
}

impl Miss {
    /// Runs the miss path to its end in a task of its own, and returns its answer.
    pub async fn spawn(self) -> Result<SimulateResponse, SimError> {
        tokio::spawn(self.run()).await.unwrap_or_else(|err| {
            tracing::error!(error = %err, "simulation task failed");
            Err(ApiError::internal())
        })
    }

    async fn run(self) -> Result<SimulateResponse, SimError> {
        let charge = Charge::new(&self.settings, &self.actor, &self.ctx.request_id);
        let limit = self.settings.request_timeout;
        let fetched = match tokio::time::timeout(limit, self.fetch(&charge)).await {
            Ok(fetched) => fetched,
            // The work was cut off wherever it was: a hold may exist.
            Err(_) => Err(Failure {
                error: ApiError::new(
                    ProblemCode::ServiceUnavailable,
                    format!(
                        "The simulation did not finish within {} ms; please retry.",
                        limit.as_millis()
                    ),
                )
                .with_retry_after(1),
                held: Held::Unknown,
            }),
        };

        let (outcome, held) = match fetched {
            Ok(fetched) => {
                let (stored, status, held, cost) = match fetched {
                    Fetched::Computed(stored, Computed { held, engine_ms }) => (
                        stored,
                        CacheStatus::Stored,
                        held,
                        Some((charge.cost(), engine_ms)),
                    ),
                    Fetched::Hit(stored) => (stored, CacheStatus::Hit, Held::Nothing, None),
                    Fetched::Collapsed(stored) => {
                        (stored, CacheStatus::Collapsed, Held::Nothing, None)
                    }
                };
                self.local.insert(&self.plan.fingerprint, &stored);
                let body = Cached::read(&stored)
                    .and_then(|cached| result(&self.ctx, &self.plan, cached.numbers, cost));
                (body.map(|b| (b, status)), held)
            }
            Err(Failure { error, held }) => (Err(error), held),
        };
        let hold = charge.end(held, outcome.is_ok());
        self.settle(hold, &outcome).await?;

        let (body, status) = outcome?;
        self.ctx.note_cache_hit(status != CacheStatus::Stored);
        crate::metrics::record_cache(status.metric());
        Ok(SimulateResponse::Ok(
            RenderedJson::new(body),
            status.header().into(),
        ))
    }

    /// The numbers: from the cache, from another instance, or computed here (held first).
    async fn fetch(&self, charge: &Charge<'_>) -> Result<Fetched<Computed>, Failure> {
        let policy = CachePolicy {
            ttl_seconds: self.settings.cache_ttl_seconds,
            max_wait: self.settings.cache_wait,
        };
        if self.plan.seed_supplied {
            return self
                .store
                .cache_fetch_or_compute(&self.plan.fingerprint, policy, || self.compute(charge))
                .await;
        }
        // A fresh seed cannot be in the cache; store the result so that repeating the
        // request with the returned seed is a hit.
        let (json, computed) = self.compute(charge).await?;
        if let Err(err) = self
            .store
            .cache_store(&self.plan.fingerprint, "", &json, policy.ttl_seconds)
            .await
        {
            tracing::warn!(error = %err, "could not store a computed result");
        }
        Ok(Fetched::Computed(json, computed))
    }

    /// Holds the cost, then computes; the result as the cache keeps it. A failure says what
    /// it may have held.
    async fn compute(&self, charge: &Charge<'_>) -> Result<(String, Computed), Failure> {
        let held = charge.take(&self.store).await?;
        match self.engine.run(&self.plan).await {
            Ok((numbers, engine_ms)) => {
                let event = EventView::new(&self.plan.matchup, None).to_json_string();
                let stored = Cached {
                    event: &event,
                    numbers: &numbers,
                }
                .encode();
                Ok((stored, Computed { held, engine_ms }))
            }
            Err(error) => Err(Failure { error, held }),
        }
    }

    /// Ends the request on the actor's account: commit or refund the hold, store or forget
    /// the idempotent response. When Redis cannot take it, the cleanup takes over.
    async fn settle(
        &self,
        hold: HoldEnd<'_>,
        outcome: &Result<(String, CacheStatus), SimError>,
    ) -> Result<(), SimError> {
        let problem_json;
        let end = match outcome {
            Ok((body, _)) => ClaimEnd::Store { status: 200, body },
            // 2xx and 402 are final answers; anything else is transient and may be retried.
            Err(err) if err.code == ProblemCode::InsufficientTokens => {
                problem_json = err.json(&self.ctx);
                ClaimEnd::Store {
                    status: err.code.status().as_u16(),
                    body: &problem_json,
                }
            }
            Err(_) => ClaimEnd::Forget,
        };
        let hold_id = match &hold {
            HoldEnd::None => None,
            HoldEnd::Commit(hold) => Some(hold.id.clone()),
            HoldEnd::Refund { hold_id, .. } => Some((*hold_id).to_owned()),
        };
        if hold_id.is_none() && self.claim.is_none() {
            return Ok(());
        }
        let settlement = Settlement {
            actor: &self.actor,
            hold,
            claim: self.claim.as_ref().map(|c| (c, end)),
        };
        if let Err(err) = self.store.settle(settlement).await {
            if let StoreError::Unconfirmed { .. } = err {
                // Settled on the primary, but not confirmed by its replicas: the client gets
                // a transient error, and a retry with its key replays the stored answer once
                // confirmed. Forgetting the claim now would let that retry charge again.
                return Err(err.into());
            }
            // The client gets a transient error: it must not pay, and its retry must run.
            cleanup(
                self.cleanup_store.clone(),
                self.actor.clone(),
                hold_id,
                self.claim.clone(),
            );
            return Err(err.into());
        }
        Ok(())
    }
}

/// Attempts and first pause of the background cleanup.
const CLEANUP_ATTEMPTS: u32 = 5;
const CLEANUP_FIRST_PAUSE: Duration = Duration::from_millis(200);

/// Refunds `hold_id` (if held) and drops `claim` (if still this request's), retrying in the
/// background while Redis is unreachable; past the attempts, the leases release both.
pub(super) fn cleanup(
    store: Store,
    actor: String,
    hold_id: Option<String>,
    claim: Option<IdempotencyClaim>,
) {
    if hold_id.is_none() && claim.is_none() {
        return;
    }
    tokio::spawn(async move {
        let mut pause = CLEANUP_FIRST_PAUSE;
        for _ in 0..CLEANUP_ATTEMPTS {
            let hold = match &hold_id {
                Some(hold_id) => HoldEnd::Refund {
                    hold_id,
                    reason: REFUND_REASON,
                },
                None => HoldEnd::None,
            };
            let settlement = Settlement {
                actor: &actor,
                hold,
                claim: claim.as_ref().map(|c| (c, ClaimEnd::Forget)),
            };
            match store.settle(settlement).await {
                Ok(settled) => {
                    tracing::info!(?settled, "cleaned up after a failed request");
                    return;
                }
                Err(err) => tracing::warn!(error = %err, "cleanup after a failed request failed"),
            }
            tokio::time::sleep(pause).await;
            pause *= 2;
        }
        tracing::error!("gave up cleaning up after a failed request; the leases will");
    });
}
