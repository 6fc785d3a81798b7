//! Admission of `/api/*` requests: the rate limit (with its headers on every response) and
//! the idempotency check, mapped to problems.

use poem::Request;

use super::{
    context::RequestContext,
    error::{ApiError, ProblemCode},
};
use crate::{
    config::Settings,
    store::{
        Slot, Store,
        admission::{Admission, RateLimit, RateState},
        idempotency::IdempotencyClaim,
    },
};

/// What admission decided for a request that may go ahead.
#[derive(Debug)]
pub enum Admitted {
    /// Run the request.
    Run,
    /// Answer with the stored final response of the first request with this key.
    Replay { status: u16, body: String },
}

fn seconds_ceil(ms: u64) -> u64 {
    ms.div_ceil(1000).max(1)
}

/// The limit every rate-limited route applies.
pub fn api_rate_limit(settings: &Settings) -> RateLimit {
    RateLimit {
        capacity: settings.rate_limit_burst,
        per_minute: settings.rate_limit_per_minute,
    }
}

/// The IETF httpapi RateLimit fields: the sustained quota as the policy (`q` requests per
/// `w` = 60 seconds), and now `r` requests left with the next one arriving in `t` seconds —
/// so with `r=0`, `t` is when a request will be admitted again (`Retry-After` on a 429).
fn note_rate_headers(ctx: &RequestContext, settings: &Settings, state: &RateState) {
    ctx.note_header(
        "ratelimit-policy",
        format!("\"default\";q={};w=60", settings.rate_limit_per_minute),
    );
    ctx.note_header(
        "ratelimit",
        format!(
            "\"default\";r={};t={}",
            state.remaining,
            state.next_in_ms.div_ceil(1000)
        ),
    );
}

/// Runs admission of `req` for `slot`: the API rate limit when `limited`, and the key's
/// claim. `Err`: 429, 409 or 422.
pub async fn admit<const D: u32>(
    req: &Request,
    settings: &Settings,
    store: &Store,
    slot: &Slot,
    limited: bool,
    claim: Option<&IdempotencyClaim>,
) -> Result<Admitted, ApiError<D>> {
    let ctx = RequestContext::of(req);
    let limit = limited.then(|| api_rate_limit(settings));
    let (admission, state) = store.admit(slot, limit, claim).await?;
    if limited {
        note_rate_headers(ctx, settings, &state);
    }
    match admission {
        Admission::Admitted => Ok(Admitted::Run),
        Admission::Replay { status, body } => {
            ctx.note_header("idempotent-replayed", "true".into());
            Ok(Admitted::Replay { status, body })
        }
        Admission::Limited => {
            crate::metrics::record_rate_limited();
            let seconds = seconds_ceil(state.retry_in_ms);
            Err(ApiError::new(
                ProblemCode::RateLimited,
                format!("Rate limit exceeded; a request will be admitted in {seconds} s."),
            )
            .with_retry_after(seconds))
        }
        Admission::InFlight { retry_in_ms } => Err(ApiError::new(
            ProblemCode::IdempotencyRequestInFlight,
            "A request with this idempotency key is still being processed.",
        )
        .with_retry_after(seconds_ceil(retry_in_ms.min(1000)))),
        Admission::Mismatch => Err(ApiError::new(
            ProblemCode::IdempotencyKeyMismatch,
            "This idempotency key was already used with a different request body.",
        )),
        Admission::TooManyKeys { retry_in_ms } => {
            crate::metrics::record_rate_limited();
            let seconds = seconds_ceil(retry_in_ms);
            Err(ApiError::new(
                ProblemCode::RateLimited,
                format!(
                    "Too many idempotency keys in use (IDEMPOTENCY_MAX_KEYS); one expires in {seconds} s."
                ),
            )
            .with_retry_after(seconds))
        }
    }
}
