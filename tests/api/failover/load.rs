//! The clients of a failover run: actors simulating and reading their balance, an
//! administrator granting tokens, each operation retried with its idempotency key until it
//! has a final answer. Every HTTP attempt is logged with what it returned, and every answer
//! that acknowledged a change is logged apart, for the audit.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::TestApp;

pub const ADMIN: &str = "failover-admin-token-0123";

/// What one operation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    Simulate,
    Grant,
    Balance,
}

/// One HTTP attempt and its answer.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub op: Op,
    pub at: Instant,
    pub status: u16,
    pub problem: bool,
    pub retry_after: bool,
    /// The problem's `detail`.
    pub detail: Option<String>,
}

/// A change a client was told happened.
#[derive(Debug, Clone)]
pub enum Acknowledged {
    /// A computed simulation charged `actor`: the execution `request_id` of `key`.
    Charge {
        actor: String,
        key: String,
        request_id: String,
    },
    /// A grant credited `actor` with the ledger entry `entry_id`.
    Grant { actor: String, entry_id: String },
}

#[derive(Default)]
pub struct Log {
    pub attempts: Vec<Attempt>,
    pub acknowledged: Vec<Acknowledged>,
    /// Keys whose operation had no final answer when the run ended.
    pub unfinished: Vec<String>,
}

/// The clients of a run, until [`Load::stop`].
#[derive(Clone)]
pub struct Load {
    apps: Arc<[TestApp; 2]>,
    log: Arc<Mutex<Log>>,
    stop: Arc<AtomicBool>,
}

pub fn actor(n: usize) -> String {
    format!("fo-{n}")
}

/// How long a client retries one operation: the whole run, at most.
const GIVE_UP_AFTER: Duration = Duration::from_secs(60);

/// A client retries sooner than `Retry-After` (1 s) asks, to measure when service resumes.
const RETRY_PAUSE: Duration = Duration::from_millis(100);

impl Load {
    pub fn new(apps: [TestApp; 2]) -> Self {
        Self {
            apps: Arc::new(apps),
            log: Arc::default(),
            stop: Arc::default(),
        }
    }

    /// Starts `actors` actors (simulations, one balance read in four) and one administrator
    /// granting to them in turn; returns their tasks.
    pub fn start(&self, actors: usize) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks: Vec<_> = (0..actors)
            .map(|n| {
                let load = self.clone();
                tokio::spawn(async move { load.actor(n).await })
            })
            .collect();
        let load = self.clone();
        tasks.push(tokio::spawn(async move { load.admin(actors).await }));
        tasks
    }

    /// The instances' settings.
    pub fn config(&self) -> &crate::helpers::TestConfig {
        &self.apps[0].config
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    pub fn log(&self) -> std::sync::MutexGuard<'_, Log> {
        self.log.lock().unwrap()
    }

    async fn actor(&self, n: usize) {
        let actor = actor(n);
        let mut i = 0usize;
        while !self.stop.load(Ordering::SeqCst) {
            i += 1;
            let app = &self.apps[i % 2];
            if i.is_multiple_of(4) {
                let request = app.as_actor(Method::GET, "/api/balance", &actor);
                self.attempt(Op::Balance, request).await;
                continue;
            }
            // Unseeded: computed and charged every time.
            let key = format!("s-{n}-{i}");
            let body = json!({ "event_id": "demo_003", "iterations": 1000 });
            let answer = self
                .until_final(Op::Simulate, &key, |app| {
                    app.as_actor(Method::POST, "/api/simulate", &actor)
                        .header("Idempotency-Key", &key)
                        .json(&body)
                })
                .await;
            if let Some((200, body)) = answer
                && body["meta"]["cost_tokens"].as_i64() == Some(1)
            {
                let request_id = body["meta"]["request_id"].as_str().unwrap_or_default();
                self.log().acknowledged.push(Acknowledged::Charge {
                    actor: actor.clone(),
                    key,
                    request_id: request_id.to_owned(),
                });
            }
        }
    }

    async fn admin(&self, actors: usize) {
        let mut i = 0usize;
        while !self.stop.load(Ordering::SeqCst) {
            i += 1;
            let actor = actor(i % actors);
            let key = format!("g-{i}");
            let body = json!({ "actor_id": actor, "amount": 10, "reason": "failover run" });
            let answer = self
                .until_final(Op::Grant, &key, |app| {
                    app.client
                        .post(app.url("/api/admin/grants"))
                        .bearer_auth(ADMIN)
                        .header("Idempotency-Key", &key)
                        .json(&body)
                })
                .await;
            if let Some((201, body)) = answer {
                let entry_id = body["entry_id"].as_str().unwrap_or_default();
                self.log().acknowledged.push(Acknowledged::Grant {
                    actor,
                    entry_id: entry_id.to_owned(),
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends the operation (alternating instances, the same key and body) until its answer
    /// is final; returns it, or `None` when the run ends first.
    async fn until_final(
        &self,
        op: Op,
        key: &str,
        request: impl Fn(&TestApp) -> reqwest::RequestBuilder,
    ) -> Option<(u16, Value)> {
        let started = Instant::now();
        for attempt in 0.. {
            let app = &self.apps[attempt % 2];
            // The request id names the key: the ledger's entries lead back to it.
            let builder = request(app).header("X-Request-ID", format!("{key}.{attempt}"));
            let (status, body) = self.attempt(op, builder).await;
            if !matches!(status, 409 | 503) {
                return Some((status, body));
            }
            if started.elapsed() > GIVE_UP_AFTER {
                break;
            }
            tokio::time::sleep(RETRY_PAUSE).await;
        }
        self.log().unfinished.push(key.to_owned());
        None
    }

    async fn attempt(&self, op: Op, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request
            .send()
            .await
            .expect("every request is answered: no hang, no dropped connection");
        let at = Instant::now();
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let problem =
            header("content-type").is_some_and(|t| t.starts_with("application/problem+json"));
        let retry_after = header("retry-after").is_some();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let detail = body["detail"].as_str().map(str::to_owned);
        self.log().attempts.push(Attempt {
            op,
            at,
            status,
            problem,
            retry_after,
            detail,
        });
        (status, body)
    }
}
