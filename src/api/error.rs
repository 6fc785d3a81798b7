//! The one error type of the HTTP API, rendered as RFC 9457 `application/problem+json`.
//!
//! Handlers return `ApiError<DOC>`, where `DOC` is a bit set of the problem kinds the operation
//! can produce: the OpenAPI document then lists exactly those responses for the operation,
//! while every instance of the type can still carry any kind (an unexpected Redis failure is
//! a 503 everywhere). Errors that never reach a handler (unknown route, wrong method, body
//! too large, a panic) are turned into the same type by the request envelope, so every error
//! a client sees has one shape. An error's response carries its [`Problem`]; the envelope
//! renders the body, because it knows the request id and path.

use std::ops::{Deref, DerefMut};

use poem::{
    IntoResponse, Response,
    http::{HeaderValue, StatusCode, header},
};
use poem_openapi::{
    ApiResponse,
    registry::{MetaHeader, MetaMediaType, MetaResponse, MetaResponses, Registry},
    types::Type,
};

pub use super::problem::{Problem, ProblemBody, ProblemCode};
use crate::store::StoreError;

/// `Retry-After` of a 503 while Redis is unreachable or slow: the service recovers by
/// itself as soon as Redis answers again.
pub const REDIS_RETRY_AFTER_SECONDS: u64 = 1;

/// Bits for the `DOC` parameter of [`ApiError`]: which problems an operation documents.
pub mod doc {
    use super::ProblemCode as C;
    pub const INVALID: u32 = C::InvalidRequest.bit();
    pub const UNAUTHORIZED: u32 = C::Unauthorized.bit();
    pub const INSUFFICIENT: u32 = C::InsufficientTokens.bit();
    pub const FORBIDDEN: u32 = C::Forbidden.bit();
    pub const NOT_FOUND: u32 = C::NotFound.bit();
    pub const IN_FLIGHT: u32 = C::IdempotencyRequestInFlight.bit();
    pub const TOO_LARGE: u32 = C::PayloadTooLarge.bit();
    pub const MEDIA_TYPE: u32 = C::UnsupportedMediaType.bit();
    pub const KEY_MISMATCH: u32 = C::IdempotencyKeyMismatch.bit();
    pub const RATE_LIMITED: u32 = C::RateLimited.bit();
    pub const INTERNAL: u32 = C::InternalError.bit();
    pub const UNAVAILABLE: u32 = C::ServiceUnavailable.bit();
    pub const OVERLOADED: u32 = C::Overloaded.bit();
    pub const TIMEOUT: u32 = C::RequestTimeout.bit();
    /// Every operation can fail unexpectedly, lose Redis, or meet a full instance.
    pub const BASE: u32 = INTERNAL | UNAVAILABLE | OVERLOADED;
    /// An operation with a JSON body: malformed, too large, too slow, wrong content type.
    pub const BODY: u32 = INVALID | TOO_LARGE | TIMEOUT | MEDIA_TYPE;
}

/// `Retry-After` of an `overloaded` answer: capacity frees up as fast as requests finish.
pub const OVERLOADED_RETRY_AFTER_SECONDS: u64 = 1;

/// What an instance ran out of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capacity {
    /// `MAX_REQUESTS_IN_FLIGHT`.
    InFlight,
    /// `ENGINE_QUEUE_MAX`: simulations waiting for an engine thread.
    EngineQueue,
}

impl Capacity {
    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Self::InFlight => "in_flight",
            Self::EngineQueue => "engine_queue",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Self::InFlight => "requests in flight",
            Self::EngineQueue => "simulations waiting for the engine",
        }
    }
}

/// An error on its way to the client. `DOC` only affects the OpenAPI document.
#[derive(Debug, Clone)]
pub struct ApiError<const DOC: u32 = 0>(pub Problem);

impl<const DOC: u32> Deref for ApiError<DOC> {
    type Target = Problem;

    fn deref(&self) -> &Problem {
        &self.0
    }
}

impl<const DOC: u32> DerefMut for ApiError<DOC> {
    fn deref_mut(&mut self) -> &mut Problem {
        &mut self.0
    }
}

impl<const DOC: u32> ApiError<DOC> {
    pub fn new(code: ProblemCode, detail: impl Into<String>) -> Self {
        Self(Problem::new(code, detail))
    }

    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new(ProblemCode::InvalidRequest, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(ProblemCode::NotFound, detail)
    }

    /// A 500 whose detail never carries internals; the cause goes to the log instead.
    pub fn internal() -> Self {
        Self::new(
            ProblemCode::InternalError,
            "An unexpected error occurred; the service log has the details under this request id.",
        )
    }

    pub fn unavailable() -> Self {
        Self::new(
            ProblemCode::ServiceUnavailable,
            "The service's data store is unavailable; please retry shortly.",
        )
        .with_retry_after(REDIS_RETRY_AFTER_SECONDS)
    }

    /// A 503 `overloaded`: the instance is at capacity; nothing was held or claimed.
    pub fn overloaded(capacity: Capacity) -> Self {
        crate::metrics::record_overloaded(capacity.label());
        Self::new(
            ProblemCode::Overloaded,
            format!(
                "This instance is at capacity ({}); please retry shortly.",
                capacity.what()
            ),
        )
        .with_retry_after(OVERLOADED_RETRY_AFTER_SECONDS)
    }

    pub fn unauthorized(detail: impl Into<String>, scheme: &'static str) -> Self {
        let mut err = Self::new(ProblemCode::Unauthorized, detail);
        err.www_authenticate = Some(scheme);
        err
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }

    /// The same error documented under another operation's set.
    pub fn recast<const OTHER: u32>(self) -> ApiError<OTHER> {
        ApiError(self.0)
    }

    /// Maps an error that poem raised outside a handler (routing, body parsing, limits).
    pub fn from_poem(err: &poem::Error) -> Self {
        match Problem::of(err) {
            // An extractor of ours refused the request with its own problem.
            Some(problem) => Self(problem),
            None => Self::from_status(err.status(), &err.to_string()),
        }
    }

    /// Maps a status and message from outside the API's own errors to a problem.
    pub fn from_status(status: StatusCode, message: &str) -> Self {
        let code = ProblemCode::ALL
            .into_iter()
            .find(|c| c.status() == status)
            .unwrap_or(if status.is_client_error() {
                ProblemCode::InvalidRequest
            } else {
                ProblemCode::InternalError
            });
        match code {
            ProblemCode::InternalError => {
                tracing::error!(error = %message, "unhandled server error");
                Self::internal()
            }
            ProblemCode::ServiceUnavailable => Self::unavailable(),
            ProblemCode::NotFound => Self::not_found("No resource exists at this path."),
            ProblemCode::MethodNotAllowed => {
                Self::new(code, "This route does not accept this HTTP method.")
            }
            ProblemCode::InvalidRequest => Self::invalid(tidy_parse_error(message)),
            _ => Self::new(code, message),
        }
    }
}

/// poem-openapi phrases parse errors for its own developers; keep the useful part.
fn tidy_parse_error(message: &str) -> String {
    let message = message
        .strip_prefix("parse request payload error: ")
        .unwrap_or(message);
    // poem-openapi appends the schema type it was parsing; the field path is already there.
    let message = message
        .split(" (occurred while parsing")
        .next()
        .unwrap_or(message);
    let message = match message.strip_prefix("failed to parse \"") {
        Some(rest) => rest.split_once("\": ").map_or(message, |(_, tail)| tail),
        None => message,
    };
    format!("Invalid request: {message}")
}

impl<const DOC: u32> std::fmt::Display for ApiError<DOC> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The source is the [`Problem`], so code that only sees a `poem::Error` (the envelope) can
/// find it whatever the operation's `DOC` ([`Problem::of`]).
impl<const DOC: u32> std::error::Error for ApiError<DOC> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// Lets handlers return `Result<_, ApiError>`: poem-openapi turns the error into a
/// `poem::Error`, whose response is this problem.
impl<const DOC: u32> poem::error::ResponseError for ApiError<DOC> {
    fn status(&self) -> StatusCode {
        self.code.status()
    }

    fn as_response(&self) -> Response {
        self.clone().into_response()
    }
}

/// Whether a response carries a problem document (rendered by the envelope).
pub fn is_problem(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"))
}

impl<const DOC: u32> IntoResponse for ApiError<DOC> {
    /// The status, the headers the problem calls for and the problem itself; the body is
    /// rendered by the envelope for the request.
    fn into_response(self) -> Response {
        let mut response = Response::builder()
            .status(self.code.status())
            .content_type("application/problem+json")
            .finish();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(scheme) = self.www_authenticate {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(scheme));
        }
        response.set_data(self.0);
        response
    }
}

impl<const DOC: u32> ApiResponse for ApiError<DOC> {
    const BAD_REQUEST_HANDLER: bool = true;

    /// One response per status: codes that share a status (503: `service_unavailable`,
    /// `overloaded`) share its entry, described together.
    fn meta() -> MetaResponses {
        let documented: Vec<ProblemCode> = ProblemCode::ALL
            .into_iter()
            .filter(|code| DOC & code.bit() != 0)
            .collect();
        let mut responses: Vec<MetaResponse> = Vec::new();
        for code in &documented {
            let info = code.info();
            let status = info.status.as_u16();
            if responses.iter().any(|r| r.status == Some(status)) {
                continue;
            }
            let same: Vec<ProblemCode> = documented
                .iter()
                .copied()
                .filter(|c| c.status() == info.status)
                .collect();
            let description = match same.as_slice() {
                [_] => info.description,
                _ => ProblemCode::shared_description(info.status),
            };
            let headers = same
                .iter()
                .find_map(|c| c.info().header)
                .map(|(name, description)| MetaHeader {
                    name: name.to_owned(),
                    description: Some(description.to_owned()),
                    required: true,
                    deprecated: false,
                    schema: if name == "Retry-After" {
                        u64::schema_ref()
                    } else {
                        String::schema_ref()
                    },
                })
                .into_iter()
                .collect();
            responses.push(MetaResponse {
                description,
                status: Some(status),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: "application/problem+json",
                    schema: ProblemBody::schema_ref(),
                }],
                headers,
            });
        }
        MetaResponses { responses }
    }

    fn register(registry: &mut Registry) {
        ProblemBody::register(registry);
    }

    fn from_parse_request_error(err: poem::Error) -> Self {
        Self::from_poem(&err)
    }
}

/// Redis unreachable or slow is a 503 for the client, whatever the operation; a reply that
/// breaks a script's contract is a bug, a 500.
impl<const DOC: u32> From<StoreError> for ApiError<DOC> {
    fn from(err: StoreError) -> Self {
        if let StoreError::Unconfirmed { .. } = err {
            tracing::warn!(error = %err, "an account change was not confirmed by replicas");
            return Self::new(
                ProblemCode::ServiceUnavailable,
                "The data store could not confirm this change on its replicas in time; retry shortly with the same idempotency key to get its answer.",
            )
            .with_retry_after(REDIS_RETRY_AFTER_SECONDS);
        }
        if err.is_outage() {
            tracing::warn!(error = %err, "redis call failed");
            Self::unavailable()
        } else {
            tracing::error!(error = %err, "redis reply broke its contract");
            Self::internal()
        }
    }
}
