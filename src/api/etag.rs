//! Entity tags for responses that never change while the service runs (the document, the
//! catalogue) or never change at all (a result by fingerprint): `ETag` and `If-None-Match`.

use poem::Request;

use crate::domain::digest::sha256_hex;

/// A strong entity tag for `body`: the first 32 hex digits of its SHA-256, quoted.
pub fn of(body: &str) -> String {
    format!("\"{}\"", &sha256_hex(body)[..32])
}

/// Whether the request's `If-None-Match` names `etag` (RFC 9110 §13.1.2: `*` matches any
/// current representation; comparison is weak, so `W/"x"` matches `"x"`).
pub fn not_modified(req: &Request, etag: &str) -> bool {
    req.headers()
        .get_all("if-none-match")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|line| line.split(','))
        .map(|tag| tag.trim())
        .any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asking(value: &str) -> Request {
        Request::builder().header("if-none-match", value).finish()
    }

    #[test]
    fn if_none_match_matches_weakly_and_in_lists() {
        let etag = of("body");
        assert!(etag.starts_with('"') && etag.ends_with('"') && etag.len() == 34);
        assert!(not_modified(&asking(&etag), &etag));
        assert!(not_modified(&asking(&format!("\"x\", W/{etag}")), &etag));
        assert!(not_modified(&asking("*"), &etag));
        assert!(!not_modified(&asking("\"other\""), &etag));
        assert!(!not_modified(&Request::default(), &etag));
    }
}
