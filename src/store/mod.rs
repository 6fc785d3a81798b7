//! The only code that talks to Redis.
//!
//! [`Store`] is a cheap handle (clones share one connection, see `connection`). Every state
//! change that reads before it writes is one Lua script (`scripts`), with its keys built in
//! `keys` so that each script stays in one cluster slot; the modules here wrap one area each
//! (`admission`, `idempotency`, `ledger`, `cache`, `apikeys`) and decode every script reply
//! into an enum, so no string outcome crosses into the API.
//!
//! Every call is bounded by `REDIS_TIMEOUT_MS` end to end (including a NOSCRIPT reload), so a
//! slow or absent Redis turns into a [`StoreError`] — a 503 for the client — and never a hang.
//! A reply that does not match what its script promises is a [`StoreError::Protocol`]: a
//! bug, answered as a 500.

mod acks;
pub mod admission;
pub mod apikeys;
pub mod cache;
mod connection;
mod delegate;
pub mod idempotency;
pub mod keys;
pub mod ledger;
mod reply;
pub mod scripts;
mod sentinel;

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use redis::{FromRedisValue, Value};

use crate::config::Settings;
use connection::Connection;
pub use connection::Node;
pub use keys::{Keys, Slot};
use scripts::Call;

/// Why a Redis call did not produce a usable answer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
    #[error("redis error: {0}")]
    Redis(#[from] redis::RedisError),
    /// The change is on the primary, but fewer replicas than `REDIS_MIN_REPLICA_ACKS`
    /// confirmed it before the request's deadline: a failover could still lose it.
    #[error("{acknowledged} of the {wanted} replicas asked for confirmed the change in time")]
    Unconfirmed { wanted: u32, acknowledged: u64 },
    /// The reply breaks the script's documented contract (or a caller broke the script's
    /// declared arguments): a bug, not an outage.
    #[error("unexpected reply from script {script}: {detail}")]
    Protocol {
        script: &'static str,
        detail: String,
    },
}

impl StoreError {
    pub fn protocol(script: &'static str, detail: impl Into<String>) -> Self {
        Self::Protocol {
            script,
            detail: detail.into(),
        }
    }

    /// Whether the store is unreachable or slow (transient), as opposed to a bug.
    pub fn is_outage(&self) -> bool {
        !matches!(self, Self::Protocol { .. })
    }
}

/// Where scripts take "now" from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clock {
    /// Redis `TIME`: one clock for every instance (always, in the service).
    #[default]
    Redis,
    /// A fixed time in ms since the epoch, so tests can cross a day boundary or a lease
    /// without waiting.
    At(u64),
}

impl Clock {
    /// The scripts' `time_override` argument.
    fn arg(self) -> String {
        match self {
            Clock::Redis => String::new(),
            Clock::At(ms) => ms.to_string(),
        }
    }
}

/// Handle to the shared state. Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct Store {
    conn: Connection,
    /// Replica acknowledgements of account changes (`REDIS_MIN_REPLICA_ACKS` > 0).
    acks: Option<Arc<acks::Acks>>,
    keys: Keys,
    timeout: Duration,
    clock: Clock,
    /// The daily allowance every account script applies (`DAILY_TOKENS`).
    daily_allowance: i64,
    /// How long an idle account holding nothing of value is kept (0 = forever).
    idle_account_ttl_seconds: u64,
    /// Live idempotency records a caller may hold.
    idempotency_max_keys: u32,
    /// Redis time left to the request this handle serves (see [`Store::for_request`]).
    budget: Option<Arc<Mutex<Duration>>>,
}

impl Store {
    /// Prepares the connection without touching the network.
    pub fn new(settings: &Settings) -> Result<Self, StoreError> {
        let conn = Connection::new(settings)?;
        Ok(Self {
            acks: conn.acks(settings)?.map(Arc::new),
            conn,
            keys: Keys::new(settings.redis_key_prefix.clone()),
            timeout: settings.redis_timeout,
            clock: Clock::Redis,
            daily_allowance: settings.daily_tokens,
            idle_account_ttl_seconds: settings.idle_account_ttl_seconds,
            idempotency_max_keys: settings.idempotency_max_keys,
            budget: None,
        })
    }

    /// A handle for one request: all its Redis calls together wait at most
    /// `REDIS_TIMEOUT_MS`, so a slow Redis fails the request within that bound however many
    /// calls it makes (each call alone is bounded by the same value).
    pub fn for_request(&self) -> Self {
        Self {
            budget: Some(Arc::new(Mutex::new(self.timeout))),
            ..self.clone()
        }
    }

    /// The same store with another clock for its scripts (tests).
    pub fn with_clock(&self, clock: Clock) -> Self {
        Self {
            clock,
            ..self.clone()
        }
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// Round trip to Redis (`PING`), for readiness.
    pub async fn ping(&self) -> Result<Duration, StoreError> {
        let started = Instant::now();
        let _: String = self.command(&redis::cmd("PING")).await?;
        Ok(started.elapsed())
    }

    /// Which Redis node this instance uses (`/ready`).
    pub fn node(&self) -> Node {
        self.conn.node()
    }

    /// Runs one command within the timeout.
    pub async fn command<T: FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, StoreError> {
        self.bounded("command", async move {
            let (mut conn, watch) = self.conn.active().await?;
            let result = cmd.query_async(&mut conn).await;
            watch.done(result.as_ref().err());
            result
        })
        .await
    }

    /// Runs one script (EVALSHA, reloaded on NOSCRIPT) within the timeout.
    async fn run(&self, call: &Call) -> Result<Value, StoreError> {
        let name = call.spec.name;
        call.check()
            .map_err(|detail| StoreError::protocol(name, detail))?;
        let started = Instant::now();
        let result = self
            .bounded(name, async move {
                let (mut conn, watch) = self.conn.active().await?;
                let result = invoke(call, &mut conn).await;
                watch.done(result.as_ref().err());
                result
            })
            .await;
        crate::metrics::record_script(name, started.elapsed());
        result
    }

    /// Runs a script that may change an account; `decode` reads its reply and says whether
    /// it changed something. With `REDIS_MIN_REPLICA_ACKS`, such a change is confirmed by
    /// that many replicas before this returns (see `acks`), else it fails with
    /// [`StoreError::Unconfirmed`]; without, this is [`Store::run`] and a decode.
    async fn run_account<T>(
        &self,
        call: &Call,
        decode: impl FnOnce(Value) -> Result<(T, bool), StoreError>,
    ) -> Result<T, StoreError> {
        let Some(acks) = &self.acks else {
            return decode(self.run(call).await?).map(|(out, _)| out);
        };
        let name = call.spec.name;
        call.check()
            .map_err(|detail| StoreError::protocol(name, detail))?;
        let deadline = Instant::now() + self.limit();
        // Boxed: the pool's future is deep, and every request's future would carry it.
        self.bounded(name, Box::pin(acks.run(call, deadline, decode)))
            .await
    }

    /// What a call may take now: the per-call timeout, or less when the request's budget is
    /// nearly spent.
    fn limit(&self) -> Duration {
        let left = self.budget.as_ref().map_or(self.timeout, |budget| {
            *budget.lock().unwrap_or_else(|e| e.into_inner())
        });
        left.min(self.timeout)
    }

    /// Runs `call` within the per-call timeout and what is left of the request's budget.
    async fn bounded<T, E: Into<StoreError>>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Result<T, E>>,
    ) -> Result<T, StoreError> {
        let limit = self.limit();
        let started = Instant::now();
        let outcome = if limit.is_zero() {
            Err(StoreError::Timeout(self.timeout))
        } else {
            match tokio::time::timeout(limit, call).await {
                Ok(Ok(value)) => Ok(value),
                Ok(Err(err)) => Err(err.into()),
                Err(_) => Err(StoreError::Timeout(self.timeout)),
            }
        };
        if let Some(budget) = &self.budget {
            let mut left = budget.lock().unwrap_or_else(|e| e.into_inner());
            *left = left.saturating_sub(started.elapsed());
        }
        crate::metrics::record_redis(operation, outcome.is_ok());
        outcome
    }

    /// Runs a script call as built, for tests and tools that exercise scripts directly.
    pub async fn run_call(&self, call: &Call) -> Result<Value, StoreError> {
        self.run(call).await
    }
}

/// EVALSHA, reloaded on NOSCRIPT. redis-rs loads the script and retries once on NOSCRIPT;
/// another NOSCRIPT means the scripts were flushed again in between (a `SCRIPT FLUSH`, a
/// restart, a failover to a node that never saw them): load again, a few times at most.
pub(super) async fn invoke<C: redis::aio::ConnectionLike + Send>(
    call: &Call,
    conn: &mut C,
) -> redis::RedisResult<Value> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        match call.invocation.invoke_async(conn).await {
            Err(err)
                if attempts < 3
                    && err.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) => {
            }
            other => return other,
        }
    }
}
