//! The one error type of the HTTP API, rendered as RFC 9457 `application/problem+json`.
//!
//! Handlers return `ApiError<DOC>`, where `DOC` is a bit set of the problem kinds the operation
//! can produce: the OpenAPI document then lists exactly those responses for the operation,
//! while every instance of the type can still carry any kind (an unexpected Redis failure is
//! a 503 everywhere). Errors that never reach a handler (unknown route, wrong method, body
//! too large, a panic) are turned into the same type by the request middleware in
//! `telemetry`, so every error a client sees has one shape.

use poem::{
    IntoResponse, Response,
    http::{HeaderValue, StatusCode, header},
};
use poem_openapi::{
    ApiResponse, Enum, Object,
    registry::{MetaHeader, MetaMediaType, MetaResponse, MetaResponses, Registry},
    types::{ToJSON, Type},
};

use crate::telemetry;

/// What went wrong, as a stable machine-readable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ProblemCode {
    InvalidRequest,
    Unauthorized,
    InsufficientTokens,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    IdempotencyRequestInFlight,
    PayloadTooLarge,
    UnsupportedMediaType,
    IdempotencyKeyMismatch,
    RateLimited,
    InternalError,
    ServiceUnavailable,
}

impl ProblemCode {
    const ALL: [ProblemCode; 13] = [
        Self::InvalidRequest,
        Self::Unauthorized,
        Self::InsufficientTokens,
        Self::Forbidden,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::IdempotencyRequestInFlight,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::IdempotencyKeyMismatch,
        Self::RateLimited,
        Self::InternalError,
        Self::ServiceUnavailable,
    ];

    pub fn status(self) -> StatusCode {
        match self {
            Self::InvalidRequest => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::InsufficientTokens => StatusCode::PAYMENT_REQUIRED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::IdempotencyRequestInFlight => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::IdempotencyKeyMismatch => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
            Self::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::InvalidRequest => "Invalid request",
            Self::Unauthorized => "Unauthorized",
            Self::InsufficientTokens => "Insufficient tokens",
            Self::Forbidden => "Forbidden",
            Self::NotFound => "Not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::IdempotencyRequestInFlight => "Request in flight",
            Self::PayloadTooLarge => "Payload too large",
            Self::UnsupportedMediaType => "Unsupported media type",
            Self::IdempotencyKeyMismatch => "Idempotency key reused",
            Self::RateLimited => "Too many requests",
            Self::InternalError => "Internal error",
            Self::ServiceUnavailable => "Service unavailable",
        }
    }

    /// The problem `type` URI (relative, resolvable against the service's own origin).
    pub fn type_uri(self) -> &'static str {
        match self {
            Self::InvalidRequest => "/problems/invalid-request",
            Self::Unauthorized => "/problems/unauthorized",
            Self::InsufficientTokens => "/problems/insufficient-tokens",
            Self::Forbidden => "/problems/forbidden",
            Self::NotFound => "/problems/not-found",
            Self::MethodNotAllowed => "/problems/method-not-allowed",
            Self::IdempotencyRequestInFlight => "/problems/idempotency-request-in-flight",
            Self::PayloadTooLarge => "/problems/payload-too-large",
            Self::UnsupportedMediaType => "/problems/unsupported-media-type",
            Self::IdempotencyKeyMismatch => "/problems/idempotency-key-mismatch",
            Self::RateLimited => "/problems/rate-limited",
            Self::InternalError => "/problems/internal-error",
            Self::ServiceUnavailable => "/problems/service-unavailable",
        }
    }

    /// One-line description used in the OpenAPI document.
    fn description(self) -> &'static str {
        match self {
            Self::InvalidRequest => {
                "The request is malformed or a field is invalid; `detail` names the field."
            }
            Self::Unauthorized => "Missing or invalid credentials.",
            Self::InsufficientTokens => {
                "Not enough tokens for this simulation; see `required` and `available`."
            }
            Self::Forbidden => "The credentials are valid but not allowed here.",
            Self::NotFound => "No such resource.",
            Self::MethodNotAllowed => "The route exists but not with this method.",
            Self::IdempotencyRequestInFlight => {
                "A request with this idempotency key is still running; retry after `Retry-After` seconds."
            }
            Self::PayloadTooLarge => "The request body exceeds the configured limit.",
            Self::UnsupportedMediaType => "The request body must be `application/json`.",
            Self::IdempotencyKeyMismatch => {
                "This idempotency key was used with a different request body."
            }
            Self::RateLimited => "The rate limit is exhausted; retry after `Retry-After` seconds.",
            Self::InternalError => {
                "An unexpected error; details are in the service log under the request id."
            }
            Self::ServiceUnavailable => {
                "A dependency (Redis) is unavailable; retry after `Retry-After` seconds."
            }
        }
    }

    /// The header a client must read on this response, if any.
    fn documented_header(self) -> Option<(&'static str, &'static str)> {
        match self {
            Self::Unauthorized => Some(("WWW-Authenticate", "The authentication scheme expected.")),
            Self::IdempotencyRequestInFlight | Self::RateLimited | Self::ServiceUnavailable => {
                Some(("Retry-After", "Whole seconds to wait before retrying."))
            }
            _ => None,
        }
    }

    const fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

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
    /// Every operation can fail unexpectedly or lose Redis.
    pub const BASE: u32 = INTERNAL | UNAVAILABLE;
    /// An operation with a JSON body: malformed, too large, wrong content type.
    pub const BODY: u32 = INVALID | TOO_LARGE | MEDIA_TYPE;
}

/// An RFC 9457 problem document: the body of every error response.
#[derive(Debug, Clone, Object)]
#[oai(rename = "Problem", example)]
pub struct ProblemBody {
    /// A URI reference identifying the problem type.
    #[oai(rename = "type")]
    pub kind: String,
    /// A short, human-readable summary of the problem type.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What happened in this occurrence, for a human.
    pub detail: String,
    /// The request path.
    pub instance: String,
    /// Stable machine-readable code.
    pub code: ProblemCode,
    /// The request id (also in the `X-Request-ID` header and the service log).
    pub request_id: String,
    /// Tokens this request needs (`insufficient_tokens`).
    #[oai(skip_serializing_if_is_none)]
    pub required: Option<i64>,
    /// Tokens available to the caller (`insufficient_tokens`).
    #[oai(skip_serializing_if_is_none)]
    pub available: Option<i64>,
    /// Seconds until a retry can succeed (`rate_limited`, `idempotency_request_in_flight`,
    /// `service_unavailable`).
    #[oai(skip_serializing_if_is_none)]
    pub retry_after_seconds: Option<u64>,
}

impl poem_openapi::types::Example for ProblemBody {
    fn example() -> Self {
        Self {
            kind: ProblemCode::InsufficientTokens.type_uri().into(),
            title: ProblemCode::InsufficientTokens.title().into(),
            status: 402,
            detail: "This simulation costs 1 token; 0 available.".into(),
            instance: "/api/simulate".into(),
            code: ProblemCode::InsufficientTokens,
            request_id: "6f1c8a52-3f0e-4c1d-9a7b-2d4e5f607182".into(),
            required: Some(1),
            available: Some(0),
            retry_after_seconds: None,
        }
    }
}

/// An error on its way to the client. `DOC` only affects the OpenAPI document.
#[derive(Debug, Clone)]
pub struct ApiError<const DOC: u32 = 0> {
    pub code: ProblemCode,
    pub detail: String,
    pub required: Option<i64>,
    pub available: Option<i64>,
    pub retry_after: Option<u64>,
    pub www_authenticate: Option<&'static str>,
}

impl<const DOC: u32> ApiError<DOC> {
    pub fn new(code: ProblemCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            required: None,
            available: None,
            retry_after: None,
            www_authenticate: None,
        }
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

    pub fn unavailable(retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(
                ProblemCode::ServiceUnavailable,
                "The service's data store is unavailable; please retry shortly.",
            )
        }
    }

    pub fn unauthorized(detail: impl Into<String>, scheme: &'static str) -> Self {
        Self {
            www_authenticate: Some(scheme),
            ..Self::new(ProblemCode::Unauthorized, detail)
        }
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }

    /// The same error documented under another operation's set.
    pub fn recast<const OTHER: u32>(self) -> ApiError<OTHER> {
        ApiError {
            code: self.code,
            detail: self.detail,
            required: self.required,
            available: self.available,
            retry_after: self.retry_after,
            www_authenticate: self.www_authenticate,
        }
    }

    /// Maps an error that poem raised outside a handler (routing, body parsing, limits).
    pub fn from_poem(err: &poem::Error) -> Self {
        Self::from_status(err.status(), &err.to_string())
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
            ProblemCode::ServiceUnavailable => Self::unavailable(1),
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
        write!(f, "{}: {}", self.code.title(), self.detail)
    }
}

impl<const DOC: u32> std::error::Error for ApiError<DOC> {}

/// Lets handlers return `Result<_, ApiError>`: poem-openapi turns the error into a
/// `poem::Error`, whose response is this problem document.
impl<const DOC: u32> poem::error::ResponseError for ApiError<DOC> {
    fn status(&self) -> StatusCode {
        self.code.status()
    }

    fn as_response(&self) -> Response {
        self.clone().into_response()
    }
}

/// Whether a response already carries a problem document (made by [`ApiError`]).
pub fn is_problem(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"))
}

impl<const DOC: u32> ApiError<DOC> {
    /// The problem document of this error for the current request.
    pub fn problem_body(&self) -> ProblemBody {
        let ctx = telemetry::RequestContext::current();
        ProblemBody {
            kind: self.code.type_uri().to_owned(),
            title: self.code.title().to_owned(),
            status: self.code.status().as_u16(),
            detail: self.detail.clone(),
            instance: ctx.path,
            code: self.code,
            request_id: ctx.request_id,
            required: self.required,
            available: self.available,
            retry_after_seconds: self.retry_after,
        }
    }
}

impl<const DOC: u32> IntoResponse for ApiError<DOC> {
    fn into_response(self) -> Response {
        let body = self.problem_body();
        let json = body
            .to_json()
            .map(|v| v.to_string())
            .unwrap_or_else(|| String::from("{}"));
        let mut response = Response::builder()
            .status(self.code.status())
            .content_type("application/problem+json")
            .body(json);
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
        response
    }
}

impl<const DOC: u32> ApiResponse for ApiError<DOC> {
    const BAD_REQUEST_HANDLER: bool = true;

    fn meta() -> MetaResponses {
        let responses = ProblemCode::ALL
            .into_iter()
            .filter(|code| DOC & code.bit() != 0)
            .map(|code| MetaResponse {
                description: code.description(),
                status: Some(code.status().as_u16()),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: "application/problem+json",
                    schema: ProblemBody::schema_ref(),
                }],
                headers: code
                    .documented_header()
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
                    .collect(),
            })
            .collect();
        MetaResponses { responses }
    }

    fn register(registry: &mut Registry) {
        ProblemBody::register(registry);
    }

    fn from_parse_request_error(err: poem::Error) -> Self {
        Self::from_poem(&err)
    }
}

/// Redis trouble is a 503 for the client, whatever the operation.
impl<const DOC: u32> From<crate::store::StoreError> for ApiError<DOC> {
    fn from(err: crate::store::StoreError) -> Self {
        tracing::warn!(error = %err, "redis call failed");
        Self::unavailable(1)
    }
}
