//! Cross-origin access for the origins in `CORS_ORIGINS`: preflight requests are answered
//! here (before any credential check, without Redis), a request from another origin is
//! refused, and a page of an allowed origin may read every header the service sends and its
//! timing (`Timing-Allow-Origin`).

use poem::{Endpoint, IntoResponse, Middleware, Request, Response, http::header, middleware::Cors};

/// The response headers a page may read (`Access-Control-Expose-Headers`).
pub const EXPOSED: [&str; 10] = [
    "RateLimit",
    "RateLimit-Policy",
    "Retry-After",
    "X-Request-ID",
    "Cache-Status",
    "Idempotent-Replayed",
    "Server-Timing",
    "ETag",
    "WWW-Authenticate",
    "Location",
];

/// The CORS middleware of `origins` (`*`: any origin).
pub fn layer(origins: &[String]) -> Cors {
    let mut cors = Cors::new().expose_headers(EXPOSED).max_age(600);
    for origin in origins.iter().filter(|o| *o != "*") {
        cors = cors.allow_origin(origin.as_str());
    }
    cors
}

/// Adds `Timing-Allow-Origin` for an origin the CORS layer allowed (it set
/// `Access-Control-Allow-Origin`), so the page can read `Server-Timing`.
pub struct TimingAllowOrigin;

impl<E: Endpoint> Middleware<E> for TimingAllowOrigin {
    type Output = TimingAllowOriginEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        TimingAllowOriginEndpoint(inner)
    }
}

pub struct TimingAllowOriginEndpoint<E>(E);

impl<E: Endpoint> Endpoint for TimingAllowOriginEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let mut response = self.0.call(req).await?.into_response();
        let allowed = response
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .cloned();
        if let Some(origin) = allowed {
            response.headers_mut().insert("timing-allow-origin", origin);
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposed_headers_are_valid_header_names() {
        for name in EXPOSED {
            assert!(poem::http::HeaderName::try_from(name).is_ok(), "{name}");
        }
    }
}
