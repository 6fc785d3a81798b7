//! Admission of `/api/*` requests: the rate limit (with its headers on every response) and
//! the idempotency check, mapped to problems.

use poem::Request;

use super::error::{ApiError, ProblemCode};
use crate::{
    config::Settings,
    store::{
        Clock, Store,
        admission::{Admission, IdempotencyClaim, IdempotencyMode, RateLimit, RateState},
        keys::Slot,
    },
    telemetry,
};

/// Header names accepted for the idempotency key, in order of preference.
const IDEMPOTENCY_HEADERS: [&str; 2] = ["idempotency-key", "x-idempotency-key"];

/// The client's idempotency key, if any: 1–255 printable ASCII characters.
pub fn idempotency_key<const D: u32>(req: &Request) -> Result<Option<String>, ApiError<D>> {
    let Some(value) = IDEMPOTENCY_HEADERS
        .iter()
        .find_map(|name| req.headers().get(*name))
    else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(key)
            if (1..=255).contains(&key.len()) && key.bytes().all(|b| (0x20..0x7f).contains(&b)) =>
        {
            Ok(Some(key.to_owned()))
        }
        _ => Err(ApiError::invalid(
            "Idempotency-Key: must be 1-255 printable ASCII characters",
        )),
    }
}

/// Builds a claim for `key` on `scope`.
pub fn claim(
    settings: &Settings,
    scope: &'static str,
    key: &str,
    canonical_body: &str,
    mode: IdempotencyMode,
) -> IdempotencyClaim {
    IdempotencyClaim {
        scope,
        key_hash: IdempotencyClaim::hash(key),
        body_hash: IdempotencyClaim::hash(canonical_body),
        owner: uuid::Uuid::new_v4().to_string(),
        ttl_seconds: settings.idempotency_ttl_seconds,
        mode,
    }
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

fn note_rate_headers(settings: &Settings, state: &RateState) {
    let window = (u64::from(settings.rate_limit_burst) * 60)
        .div_ceil(u64::from(settings.rate_limit_per_minute));
    telemetry::note_header(
        "ratelimit-policy",
        format!("\"default\";q={};w={window}", settings.rate_limit_burst),
    );
    telemetry::note_header(
        "ratelimit",
        format!(
            "\"default\";r={};t={}",
            state.remaining,
            state.full_in_ms.div_ceil(1000)
        ),
    );
}

/// Runs admission for `slot`. `Ok(None)`: go ahead. `Ok(Some((status, body)))`: a stored
/// response to replay. `Err`: 429, 409 or 422.
pub async fn admit<const D: u32>(
    settings: &Settings,
    store: &Store,
    slot: &Slot,
    limit: Option<RateLimit>,
    idempotency: Option<&IdempotencyClaim>,
) -> Result<Option<(u16, String)>, ApiError<D>> {
    let rate = limit.unwrap_or(RateLimit {
        capacity: 0,
        per_minute: 1,
    });
    let (admission, state) = store.admit(slot, rate, idempotency, Clock::Redis).await?;
    if limit.is_some() {
        note_rate_headers(settings, &state);
    }
    match admission {
        Admission::Admitted => Ok(None),
        Admission::Replay { status, body } => {
            telemetry::note_header("idempotent-replayed", "true".into());
            Ok(Some((status, body)))
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
    }
}
