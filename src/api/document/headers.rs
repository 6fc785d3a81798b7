//! The response headers the service sends, documented on the responses that carry them
//! (as `components.headers`, referenced from each response).

use serde_json::{Value, json};

/// Every header the service sends, with its description and schema.
const HEADERS: [(&str, &str); 7] = [
    (
        "X-Request-ID",
        "The request id: the client's own when it matches `[A-Za-z0-9._:-]{1,128}`, else a new UUID. In every problem body and every log line of the request.",
    ),
    (
        "Server-Timing",
        "Time the service spent on the request: `app;dur=<milliseconds>`.",
    ),
    (
        "RateLimit",
        "The caller's rate limit now (IETF httpapi RateLimit draft): `\"default\";r=<requests left>;t=<seconds until one more is available>`; with `r=0`, `t` equals `Retry-After`.",
    ),
    (
        "RateLimit-Policy",
        "The sustained quota: `\"default\";q=<requests>;w=60` (`RATE_LIMIT_PER_MINUTE` per minute); a token bucket also allows bursts of `RATE_LIMIT_BURST`.",
    ),
    (
        "Cache-Status",
        "RFC 9211: `trickster-oracle; hit` (from the cache), `trickster-oracle; hit; collapsed` (computed by a concurrent request this one waited for), `trickster-oracle; fwd=miss; stored` (computed here), `trickster-oracle; fwd=miss` (an error).",
    ),
    (
        "Idempotent-Replayed",
        "`true` when this is the stored response of an earlier request with the same idempotency key.",
    ),
    (
        "Allow",
        "On a 405: the methods the path supports (RFC 9110).",
    ),
];

/// Paths whose every response carries the rate-limit headers.
fn rate_limited(path: &str) -> bool {
    path.starts_with("/api/") && !path.starts_with("/api/admin/")
}

pub fn apply(doc: &mut Value) {
    let components = &mut doc["components"]["headers"];
    for (name, description) in HEADERS {
        components[name] = json!({ "description": description, "schema": { "type": "string" } });
    }
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for (path, operations) in paths.iter_mut() {
        let Some(operations) = operations.as_object_mut() else {
            continue;
        };
        for (method, operation) in operations.iter_mut() {
            let Some(responses) = operation["responses"].as_object_mut() else {
                continue;
            };
            for (status, response) in responses.iter_mut() {
                let mut carried = vec!["X-Request-ID", "Server-Timing"];
                if rate_limited(path) {
                    carried.extend(["RateLimit", "RateLimit-Policy"]);
                }
                let simulate = path == "/api/simulate" && method == "post";
                if simulate {
                    carried.push("Cache-Status");
                }
                let replayable = matches!(
                    (path.as_str(), status.as_str()),
                    ("/api/simulate", "200" | "402") | ("/api/admin/grants", "201")
                );
                if replayable {
                    carried.push("Idempotent-Replayed");
                }
                let headers = &mut response["headers"];
                for name in carried {
                    headers[name] = json!({ "$ref": format!("#/components/headers/{name}") });
                }
            }
        }
    }
}
