//! Assertions shared by the tests: JSON bodies and the RFC 9457 problem shape.

use reqwest::Response;
use serde_json::Value;

/// Reads a JSON body, failing the test with the raw text when it is not JSON.
pub async fn json_body(response: Response) -> Value {
    let text = response.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("body is not JSON: {text}"))
}

/// Asserts the RFC 9457 shape and returns the body.
pub async fn assert_problem(response: Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "status");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("application/problem+json"),
        "content type {content_type}"
    );
    let header_id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("x-request-id header")
        .to_owned();
    let body = json_body(response).await;
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["request_id"], header_id.as_str(), "{body}");
    for field in ["type", "title", "detail", "instance"] {
        assert!(body[field].is_string(), "{field} missing in {body}");
    }
    body
}

/// A response header as text ("" when absent).
pub fn header(response: &Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}
