//! The per-request envelope every response passes through.
//!
//! [`RequestEnvelope`] wraps the whole route tree so that *every* response — handler
//! results, poem's own 404/405, body limit violations and caught panics — gets the same
//! treatment: a request id (kept from the client when well-formed), an RFC 9457 body for
//! errors (rendered here, where the request id and path are known), `Server-Timing`, the
//! headers handlers noted, metrics and one access-log line.

use std::{
    collections::HashMap,
    panic::AssertUnwindSafe,
    sync::Arc,
    time::{Duration, Instant},
};

use futures_util::FutureExt;
use poem::{
    Endpoint, IntoResponse, Middleware, PathPattern, Request, Response, Result,
    http::{HeaderValue, StatusCode, header},
};
use poem_openapi::types::ToJSON;
use tokio::sync::Semaphore;
use tracing::Instrument;

use super::{
    context::RequestContext,
    document::{PathInfo, shape_of},
    error::{ApiError, Capacity, Problem, ProblemCode},
    trace::TraceContext,
};

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// A client-supplied id is kept only when it is safe to log and echo.
pub fn is_valid_request_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
}

/// Probes answer whatever the load: a load balancer must not take a busy instance for a
/// dead one.
const PROBES: [&str; 3] = ["/health", "/ready", "/metrics"];

/// The middleware; see the module documentation.
#[derive(Clone)]
pub struct RequestEnvelope {
    pub max_body_bytes: usize,
    pub body_read_timeout: Duration,
    /// Requests handled at once (probes aside); more get a 503 `overloaded`.
    pub in_flight: Arc<Semaphore>,
    /// The size of `in_flight`.
    pub max_in_flight: usize,
    /// The document's paths by shape: route labels and the `Allow` header of a 405.
    pub paths: Arc<HashMap<String, PathInfo>>,
    /// This instance's name, in every access line.
    pub instance: Arc<str>,
    /// Proxies whose `X-Forwarded-For` entries are believed (the client address logged).
    pub trusted_proxy_hops: usize,
}

impl<E: Endpoint> Middleware<E> for RequestEnvelope {
    type Output = RequestEnvelopeEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        RequestEnvelopeEndpoint {
            inner,
            envelope: self.clone(),
        }
    }
}

pub struct RequestEnvelopeEndpoint<E> {
    inner: E,
    envelope: RequestEnvelope,
}

impl<E: Endpoint> RequestEnvelopeEndpoint<E> {
    /// Runs the inner endpoint and turns every way it can fail into a response; errors come
    /// back carrying a [`Problem`] that [`Self::finish`] renders.
    async fn respond(&self, mut req: Request) -> Response {
        let _permit = if PROBES.contains(&req.uri().path()) {
            None
        } else {
            match self.envelope.in_flight.clone().try_acquire_owned() {
                Ok(permit) => Some(InFlight::new(permit, &self.envelope)),
                Err(_) => return ApiError::<0>::overloaded(Capacity::InFlight).into_response(),
            }
        };
        let limits = (
            self.envelope.max_body_bytes,
            self.envelope.body_read_timeout,
        );
        if let Err(err) = read_body(&mut req, limits).await {
            return err.into_response();
        }
        match AssertUnwindSafe(self.inner.call(req)).catch_unwind().await {
            Ok(Ok(output)) => output.into_response(),
            Ok(Err(err)) => {
                let pattern = err.data::<PathPattern>().cloned();
                let (status, message) = (err.status(), err.to_string());
                // Handler errors carry their problem; poem's own errors do not.
                let problem = Problem::of(&err);
                let mut response = match problem {
                    Some(problem) => ApiError::<0>(problem).into_response(),
                    None => ApiError::<0>::from_status(status, &message).into_response(),
                };
                if let Some(pattern) = pattern {
                    // RFC 9110: a 405 lists the methods the resource does support.
                    if status == StatusCode::METHOD_NOT_ALLOWED
                        && let Some(path) = self.envelope.paths.get(&shape_of(&pattern.0))
                        && let Ok(value) = HeaderValue::from_str(&path.allow)
                    {
                        response.headers_mut().insert(header::ALLOW, value);
                    }
                    response.set_data(pattern);
                }
                response
            }
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                tracing::error!(panic = %message, "handler panicked");
                ApiError::<0>::internal().into_response()
            }
        }
    }

    /// The response as the client gets it: a problem rendered for this request, the noted
    /// headers, the request id and the timing.
    fn finish(&self, mut response: Response, ctx: &RequestContext, started: Instant) -> Response {
        if let Some(problem) = response.data::<Problem>().cloned() {
            let body = problem.body(ctx).to_json_string();
            response.set_body(body);
            if problem.code == ProblemCode::RequestTimeout {
                // What is left of the body would be read as the next request.
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
        }
        let headers = response.headers_mut();
        for (name, value) in ctx.take_headers() {
            if let Ok(value) = HeaderValue::try_from(value) {
                headers.insert(name, value);
            }
        }
        if let Ok(value) = HeaderValue::from_str(&ctx.request_id) {
            headers.insert(REQUEST_ID_HEADER, value);
        }
        if let Ok(value) = HeaderValue::from_str(&ctx.trace.header()) {
            headers.insert("traceparent", value);
        }
        let latency_ms = started.elapsed().as_secs_f64() * 1_000.0;
        if let Ok(value) = HeaderValue::from_str(&format!("app;dur={latency_ms:.2}")) {
            headers.insert("server-timing", value);
        }
        response
    }

    /// The document's template names the route (`/api/admin/api-keys/{key_id}`); unmatched
    /// paths share one label so scanners cannot inflate the metric series.
    fn route(&self, response: &Response) -> String {
        response
            .data::<PathPattern>()
            .filter(|p| !p.0.is_empty())
            .map(|p| match self.envelope.paths.get(&shape_of(&p.0)) {
                Some(path) => path.template.clone(),
                None => p.0.to_string(),
            })
            .unwrap_or_else(|| String::from("unmatched"))
    }
}

impl<E: Endpoint> Endpoint for RequestEnvelopeEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let started = Instant::now();
        let request_id = req
            .headers()
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| is_valid_request_id(v))
            .map(str::to_owned)
            .unwrap_or_else(crate::ids::uuid);
        let trace = TraceContext::from_header(req.header("traceparent"));
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        // The caller is only worked out when an access line can be written at all.
        let (client, user_agent) = if tracing::enabled!(target: "access", tracing::Level::INFO) {
            (
                super::auth::client_address(self.envelope.trusted_proxy_hops, &req)
                    .map(|ip| ip.to_string()),
                req.header("user-agent")
                    .map(|ua| ua.chars().take(200).collect::<String>()),
            )
        } else {
            (None, None)
        };
        // Level ERROR so the span (and its ids) is kept whatever LOG_LEVEL filters: a warning
        // logged inside a request must still name the request.
        // Only the two ids: the span's fields are formatted on every request, and the access
        // line has the rest.
        let span = tracing::error_span!(
            "request",
            request_id = %request_id,
            trace_id = %trace.trace_id,
        );
        crate::telemetry::export_request_span(
            &span,
            &trace.trace_id,
            &trace.span_id,
            trace.parent_id.as_deref(),
            &trace.flags,
        );
        let ctx = RequestContext::new(request_id, path, trace);
        req.extensions_mut().insert(ctx.clone());

        let response = self.respond(req).instrument(span).await;
        let response = self.finish(response, &ctx, started);

        let elapsed = started.elapsed();
        let route = self.route(&response);
        let status = response.status().as_u16();
        crate::metrics::record_request(&method, &route, status, elapsed);
        let line = AccessLine {
            ctx: &ctx,
            instance: &self.envelope.instance,
            method: method.as_str(),
            route: &route,
            status,
            latency_ms: (elapsed.as_secs_f64() * 1e6).round() / 1000.0,
            client: client.as_deref(),
            user_agent: user_agent.as_deref(),
        };
        line.log();
        Ok(response)
    }
}

/// One access-log line: a request's id, trace, route, outcome and caller.
struct AccessLine<'a> {
    ctx: &'a RequestContext,
    instance: &'a str,
    method: &'a str,
    route: &'a str,
    status: u16,
    latency_ms: f64,
    client: Option<&'a str>,
    user_agent: Option<&'a str>,
}

impl AccessLine<'_> {
    /// Logs the line: at debug for a successful probe (a load balancer asks every second and
    /// would fill the log), else at info.
    fn log(&self) {
        if !tracing::enabled!(target: "access", tracing::Level::INFO) {
            return;
        }
        let facts = self.ctx.facts();
        macro_rules! access {
            ($level:expr) => {
                tracing::event!(
                    target: "access",
                    $level,
                    request_id = %self.ctx.request_id,
                    trace_id = %self.ctx.trace.trace_id,
                    instance = self.instance,
                    method = self.method,
                    route = self.route,
                    path = %self.ctx.path,
                    status = self.status,
                    latency_ms = self.latency_ms,
                    client = self.client,
                    user_agent = self.user_agent,
                    actor = facts.actor.as_deref(),
                    cache_hit = facts.cache_hit,
                    "request completed"
                )
            };
        }
        let probe = matches!(self.route, "/health" | "/ready") && self.status < 500;
        if probe {
            access!(tracing::Level::DEBUG);
        } else {
            access!(tracing::Level::INFO);
        }
    }
}

/// A request counted in flight until it is answered.
struct InFlight<'a> {
    _permit: tokio::sync::OwnedSemaphorePermit,
    envelope: &'a RequestEnvelope,
}

impl<'a> InFlight<'a> {
    fn new(permit: tokio::sync::OwnedSemaphorePermit, envelope: &'a RequestEnvelope) -> Self {
        let flight = Self {
            _permit: permit,
            envelope,
        };
        flight.report(0);
        flight
    }

    /// Publishes the count, `leaving` requests about to end.
    fn report(&self, leaving: usize) {
        let free = self.envelope.in_flight.available_permits() + leaving;
        let total = self.envelope.max_in_flight;
        crate::metrics::set_requests_in_flight(total.saturating_sub(free));
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.report(1);
    }
}

/// Reads the whole body before any handler sees the request, enforcing `MAX_BODY_BYTES`
/// whatever the framing (a declared HTTP/1.1 length, chunks, HTTP/2 data frames: a declared
/// length over the limit is refused unread, anything else is counted while it arrives) and
/// `HTTP_BODY_READ_TIMEOUT_MS` (a body trickled in slowly is cut off with a 408 and the
/// connection closed).
async fn read_body(req: &mut Request, (max, timeout): (usize, Duration)) -> Result<(), ApiError> {
    let too_large = || {
        ApiError::new(
            ProblemCode::PayloadTooLarge,
            format!("The request body exceeds the limit of {max} bytes."),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > max as u64) {
        return Err(too_large());
    }
    let body = req.take_body();
    match tokio::time::timeout(timeout, body.into_bytes_limit(max)).await {
        Ok(Ok(bytes)) => {
            req.set_body(bytes);
            Ok(())
        }
        Ok(Err(poem::error::ReadBodyError::PayloadTooLarge)) => Err(too_large()),
        Ok(Err(_)) => Err(ApiError::invalid("The request body could not be read.")),
        Err(_) => Err(ApiError::new(
            ProblemCode::RequestTimeout,
            format!(
                "The request body did not arrive within {} ms.",
                timeout.as_millis()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use poem::{Endpoint, EndpointExt, Request, handler, http::StatusCode};

    use super::*;

    #[handler]
    fn explode() -> &'static str {
        panic!("secret internal detail: connection string redis://:hunter2@db")
    }

    fn envelope() -> RequestEnvelope {
        RequestEnvelope {
            max_body_bytes: 1024,
            body_read_timeout: Duration::from_secs(1),
            in_flight: Arc::new(Semaphore::new(8)),
            max_in_flight: 8,
            paths: Arc::default(),
            instance: Arc::from("test"),
            trusted_proxy_hops: 0,
        }
    }

    #[tokio::test]
    async fn a_panicking_handler_becomes_a_500_problem_without_internals() {
        let app = explode.with(envelope());

        let response = app
            .call(
                Request::builder()
                    .header(REQUEST_ID_HEADER, "panic-1")
                    .finish(),
            )
            .await
            .unwrap();

        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()[REQUEST_ID_HEADER], "panic-1");
        assert!(crate::api::error::is_problem(&response));
        let body = response.into_body().into_string().await.unwrap();
        let problem: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(problem["code"], "internal_error");
        assert_eq!(problem["request_id"], "panic-1");
        assert!(
            !body.contains("hunter2") && !body.contains("secret"),
            "{body}"
        );
    }

    #[test]
    fn request_ids_follow_the_allowed_alphabet() {
        assert!(is_valid_request_id("abc-123_x.y:z"));
        assert!(!is_valid_request_id(""));
        assert!(!is_valid_request_id("with space"));
        assert!(!is_valid_request_id(&"a".repeat(129)));
    }
}
