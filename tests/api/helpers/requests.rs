//! Typed requests: what a test asks for, with the identity and keys it asks as. Each returns
//! the raw response, so the test still asserts on status and headers itself.

use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;

use super::{TestApp, json_body};

impl TestApp {
    /// A request as `actor` (`X-Actor-ID`), to finish and send by hand.
    pub fn as_actor(&self, method: Method, path: &str, actor: &str) -> RequestBuilder {
        self.client
            .request(method, self.url(path))
            .header("X-Actor-ID", actor)
    }

    /// `POST /api/simulate` as `actor`.
    pub async fn simulate(&self, actor: &str, body: &Value) -> Response {
        send(
            self.as_actor(Method::POST, "/api/simulate", actor)
                .json(body),
        )
        .await
    }

    /// `POST /api/simulate` as `actor` with an `Idempotency-Key`.
    pub async fn simulate_with_key(&self, actor: &str, key: &str, body: &Value) -> Response {
        send(
            self.as_actor(Method::POST, "/api/simulate", actor)
                .header("Idempotency-Key", key)
                .json(body),
        )
        .await
    }

    /// `GET /api/events` as `actor`.
    pub async fn events(&self, actor: &str) -> Response {
        send(self.as_actor(Method::GET, "/api/events", actor)).await
    }

    /// `GET /api/balance` as `actor`.
    pub async fn balance(&self, actor: &str) -> Response {
        send(self.as_actor(Method::GET, "/api/balance", actor)).await
    }

    /// The `balance` field of `GET /api/balance` as `actor`.
    pub async fn balance_amount(&self, actor: &str) -> i64 {
        let body = json_body(self.balance(actor).await).await;
        body["balance"]
            .as_i64()
            .unwrap_or_else(|| panic!("no balance in {body}"))
    }

    /// `GET /api/ledger?limit=<limit>[&cursor=<cursor>]` as `actor`.
    pub async fn ledger(&self, actor: &str, limit: u32, cursor: Option<&str>) -> Response {
        let mut path = format!("/api/ledger?limit={limit}");
        if let Some(cursor) = cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        send(self.as_actor(Method::GET, &path, actor)).await
    }

    /// `POST /api/admin/grants` with the admin `token` and, when given, an `Idempotency-Key`.
    pub async fn grant(&self, token: &str, key: Option<&str>, body: &Value) -> Response {
        let mut request = self
            .client
            .post(self.url("/api/admin/grants"))
            .bearer_auth(token)
            .json(body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        send(request).await
    }

    /// `POST <path>` with a JSON body and, when given, the admin `token`.
    pub async fn admin_post(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        let mut request = self.client.post(self.url(path)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        send(request).await
    }

    /// `DELETE <path>` with the admin `token`.
    pub async fn admin_delete(&self, path: &str, token: &str) -> Response {
        send(self.client.delete(self.url(path)).bearer_auth(token)).await
    }
}

async fn send(request: RequestBuilder) -> Response {
    request.send().await.expect("request sent")
}

/// When a test signals shutdown after starting [`slow_simulation_body`]: the head and the
/// first part have long arrived, the rest of the body is still to come.
pub const SLOW_BODY_SIGNAL_AFTER: Duration = Duration::from_millis(300);

/// A simulation request body sent in two parts 900 ms apart, so the request is certainly in
/// flight when a test signals shutdown [`SLOW_BODY_SIGNAL_AFTER`] after sending it.
pub fn slow_simulation_body() -> reqwest::Body {
    let parts = [
        r#"{ "event_id": "demo_002", "#,
        r#""iterations": 1000000, "seed": 9 }"#,
    ];
    let stream = futures_util::stream::unfold(0, move |i| async move {
        if i == 1 {
            tokio::time::sleep(Duration::from_millis(900)).await;
        }
        parts
            .get(i)
            .map(|p| (Ok::<_, std::io::Error>(p.as_bytes().to_vec()), i + 1))
    });
    reqwest::Body::wrap_stream(stream)
}
