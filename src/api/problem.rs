//! RFC 9457 problem documents: the stable codes, what each one means, and the body every
//! error response carries.
//!
//! A [`Problem`] is what went wrong, independent of the request; [`Problem::body`] renders it
//! for one request (its id and path), which the request envelope does for every error.

use poem::http::StatusCode;
use poem_openapi::{Enum, Object, types::ToJSON};

use super::{context::RequestContext, trace::TraceContext};

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
    RequestTimeout,
    InternalError,
    ServiceUnavailable,
    Overloaded,
}

/// Everything fixed about one code.
pub struct CodeInfo {
    pub status: StatusCode,
    pub title: &'static str,
    /// The problem `type` URI (relative, resolvable against the service's own origin).
    pub type_uri: &'static str,
    /// One line for the OpenAPI document.
    pub description: &'static str,
    /// The header a client must read on this response, with its description.
    pub header: Option<(&'static str, &'static str)>,
    /// What a client should do about it (the problem type's page).
    pub advice: &'static str,
}

const RETRY_AFTER: Option<(&str, &str)> =
    Some(("Retry-After", "Whole seconds to wait before retrying."));

impl ProblemCode {
    pub const ALL: [ProblemCode; 15] = [
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
        Self::RequestTimeout,
        Self::InternalError,
        Self::ServiceUnavailable,
        Self::Overloaded,
    ];

    pub const fn info(self) -> CodeInfo {
        const fn info(
            status: StatusCode,
            title: &'static str,
            type_uri: &'static str,
            description: &'static str,
        ) -> CodeInfo {
            CodeInfo {
                status,
                title,
                type_uri,
                description,
                header: None,
                advice: "",
            }
        }
        match self {
            Self::InvalidRequest => CodeInfo {
                advice: "Read `detail`: it names the field and the rule it broke. Correct the request and send it again; sending it unchanged gives the same answer.",
                ..info(
                    StatusCode::BAD_REQUEST,
                    "Invalid request",
                    "/problems/invalid-request",
                    "The request is malformed or a field is invalid; `detail` names the field.",
                )
            },
            Self::Unauthorized => CodeInfo {
                advice: "Send the credential this deployment expects: `X-Actor-ID: <actor>` in header mode, `Authorization: Bearer <API key>` in API-key mode, `Authorization: Bearer <admin token>` on admin routes. `WWW-Authenticate` names the scheme.",
                header: Some(("WWW-Authenticate", "The authentication scheme expected.")),
                ..info(
                    StatusCode::UNAUTHORIZED,
                    "Unauthorized",
                    "/problems/unauthorized",
                    "Missing or invalid credentials.",
                )
            },
            Self::InsufficientTokens => CodeInfo {
                advice: "The caller's balance does not cover a computed simulation today. Wait for the daily allowance (`next_allowance_at` in `GET /api/balance`), ask an administrator for a grant, or ask for a result that is already cached (the same inputs and seed are free).",
                ..info(
                    StatusCode::PAYMENT_REQUIRED,
                    "Insufficient tokens",
                    "/problems/insufficient-tokens",
                    "Not enough tokens for this simulation; see `required` and `available`.",
                )
            },
            Self::Forbidden => CodeInfo {
                advice: "The credential is valid but does not allow this operation; use one that does.",
                ..info(
                    StatusCode::FORBIDDEN,
                    "Forbidden",
                    "/problems/forbidden",
                    "The credentials are valid but not allowed here.",
                )
            },
            Self::NotFound => CodeInfo {
                advice: "Check the path (the OpenAPI document at `/openapi.json` lists every route) or the id in it; a result fetched by fingerprint is gone once the cache lifetime has passed, and the same inputs and seed compute it again.",
                ..info(
                    StatusCode::NOT_FOUND,
                    "Not found",
                    "/problems/not-found",
                    "No such resource.",
                )
            },
            Self::MethodNotAllowed => CodeInfo {
                advice: "The path exists with other methods: the `Allow` header lists them.",
                ..info(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "Method not allowed",
                    "/problems/method-not-allowed",
                    "The route exists but not with this method.",
                )
            },
            Self::IdempotencyRequestInFlight => CodeInfo {
                advice: "A request with the same idempotency key is still running. Wait `Retry-After` seconds and send the same request again: you will get its answer.",
                header: RETRY_AFTER,
                ..info(
                    StatusCode::CONFLICT,
                    "Request in flight",
                    "/problems/idempotency-request-in-flight",
                    "A request with this idempotency key is still running; retry after `Retry-After` seconds.",
                )
            },
            Self::PayloadTooLarge => CodeInfo {
                advice: "Send a smaller body; the limit is the deployment's `MAX_BODY_BYTES`.",
                ..info(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "Payload too large",
                    "/problems/payload-too-large",
                    "The request body exceeds the configured limit.",
                )
            },
            Self::UnsupportedMediaType => CodeInfo {
                advice: "Send the body as JSON with `Content-Type: application/json`.",
                ..info(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "Unsupported media type",
                    "/problems/unsupported-media-type",
                    "The request body must be `application/json`.",
                )
            },
            Self::IdempotencyKeyMismatch => CodeInfo {
                advice: "This idempotency key was used for another request body. Use a new key for a new request; reuse a key only to retry exactly the same request.",
                ..info(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Idempotency key reused",
                    "/problems/idempotency-key-mismatch",
                    "This idempotency key was used with a different request body.",
                )
            },
            Self::RateLimited => CodeInfo {
                advice: "Wait `Retry-After` seconds (also `retry_after_seconds` in the body) before the next request; the `RateLimit` header tells how many requests are left.",
                header: RETRY_AFTER,
                ..info(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many requests",
                    "/problems/rate-limited",
                    "The rate limit is exhausted; retry after `Retry-After` seconds.",
                )
            },
            Self::RequestTimeout => CodeInfo {
                advice: "The body arrived too slowly and the connection was closed. Send the request again on a new connection.",
                ..info(
                    StatusCode::REQUEST_TIMEOUT,
                    "Request timeout",
                    "/problems/request-timeout",
                    "The request body did not arrive in time; the connection is closed.",
                )
            },
            Self::InternalError => CodeInfo {
                advice: "Something unexpected failed; nothing was charged for it. Retrying may work; if it keeps failing, report the `request_id`, which the service log has.",
                ..info(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal error",
                    "/problems/internal-error",
                    "An unexpected error; details are in the service log under the request id.",
                )
            },
            Self::ServiceUnavailable => CodeInfo {
                advice: "The data store is unreachable or slow; nothing was charged. Retry after `Retry-After` seconds (with the same idempotency key, if you sent one).",
                header: RETRY_AFTER,
                ..info(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Service unavailable",
                    "/problems/service-unavailable",
                    "A dependency (Redis) is unavailable; retry after `Retry-After` seconds.",
                )
            },
            Self::Overloaded => CodeInfo {
                advice: "This instance is at capacity; nothing was charged or reserved. Retry after `Retry-After` seconds; behind a load balancer the retry may reach another instance.",
                header: RETRY_AFTER,
                ..info(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Overloaded",
                    "/problems/overloaded",
                    "This instance is at capacity (simulations waiting, or requests in flight); retry after `Retry-After` seconds.",
                )
            },
        }
    }

    pub fn status(self) -> StatusCode {
        self.info().status
    }

    /// The description of a status that several codes share, for the one response the
    /// document has per status.
    pub fn shared_description(status: StatusCode) -> &'static str {
        match status {
            StatusCode::SERVICE_UNAVAILABLE => {
                "`service_unavailable`: a dependency (Redis) is unavailable; `overloaded`: this instance is at capacity. Retry after `Retry-After` seconds."
            }
            _ => "See `code` in the body.",
        }
    }

    pub fn title(self) -> &'static str {
        self.info().title
    }

    /// The code as it appears in a problem body (`rate_limited`).
    pub fn name(self) -> String {
        self.to_json()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    pub fn type_uri(self) -> &'static str {
        self.info().type_uri
    }

    /// The bit of this code in an operation's documented set (see `error::doc`).
    pub const fn bit(self) -> u32 {
        1 << (self as u32)
    }
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
    /// The W3C trace id of the request (also in `traceparent` and the service log).
    pub trace_id: String,
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
        let mut problem = Problem::new(
            ProblemCode::InsufficientTokens,
            "This simulation costs 1 token; 0 available.",
        );
        problem.required = Some(1);
        problem.available = Some(0);
        problem.body(&RequestContext::new(
            "6f1c8a52-3f0e-4c1d-9a7b-2d4e5f607182".into(),
            "/api/simulate".into(),
            TraceContext::from_header(Some(
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            )),
        ))
    }
}

/// What went wrong, before it is rendered for a request.
#[derive(Debug, Clone)]
pub struct Problem {
    pub code: ProblemCode,
    pub detail: String,
    pub required: Option<i64>,
    pub available: Option<i64>,
    pub retry_after: Option<u64>,
    pub www_authenticate: Option<&'static str>,
}

impl Problem {
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

    /// The problem document of this problem for the request `ctx`.
    pub fn body(&self, ctx: &RequestContext) -> ProblemBody {
        ProblemBody {
            kind: self.code.type_uri().to_owned(),
            title: self.code.title().to_owned(),
            status: self.code.status().as_u16(),
            detail: self.detail.clone(),
            instance: ctx.path.clone(),
            code: self.code,
            request_id: ctx.request_id.clone(),
            trace_id: ctx.trace.trace_id.clone(),
            required: self.required,
            available: self.available,
            retry_after_seconds: self.retry_after,
        }
    }

    /// The same problem from a stored document (an idempotent replay).
    pub fn from_body(body: ProblemBody) -> Self {
        Self {
            code: body.code,
            detail: body.detail,
            required: body.required,
            available: body.available,
            retry_after: body.retry_after_seconds,
            www_authenticate: None,
        }
    }

    /// The problem an error made by the API carries ([`super::error::ApiError`] exposes it as
    /// its source), if `err` is one.
    pub fn of(err: &poem::Error) -> Option<Problem> {
        use std::error::Error;
        err.source()
            .and_then(|api_error| api_error.source())
            .and_then(|source| source.downcast_ref::<Problem>())
            .cloned()
    }

    /// The rendered JSON for `ctx`.
    pub fn json(&self, ctx: &RequestContext) -> String {
        self.body(ctx).to_json_string()
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.title(), self.detail)
    }
}

impl std::error::Error for Problem {}
