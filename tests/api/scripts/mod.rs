//! Each account, admission and key script on its own against real Redis, with the clock
//! driven through the scripts' time input: happy path, a denial that writes nothing,
//! survival of SCRIPT FLUSH, and a second run with the same arguments. The fixture is here;
//! the tests are in `ledger`, `admission` and `retries`.

mod admission;
mod ledger;
mod retries;

use trickster_oracle::{
    config::Settings,
    store::{
        Clock, Keys, Slot, Store,
        admission::{Admission, RateLimit},
        idempotency::{ClaimEnd, ClaimSettled, IdempotencyClaim, IdempotencyMode, Operation},
        ledger::{
            Account, EntryKind, GrantOutcome, GrantRequest, Hold, HoldEnd, HoldOutcome,
            HoldRequest, HoldSettled, Page, Settled, Settlement,
        },
        scripts::{self, Call},
    },
};

use crate::helpers::{TestConfig, shared_redis_url};

pub(super) const DAY_MS: u64 = 86_400_000;
/// Noon of some UTC day.
pub(super) const T0: u64 = 20_000 * DAY_MS + DAY_MS / 2;
pub(super) const DAILY: i64 = 5;

pub(super) struct Fixture {
    pub store: Store,
    pub redis: redis::aio::MultiplexedConnection,
    prefix: String,
}

pub(super) async fn fixture() -> Fixture {
    let config = TestConfig::new(&shared_redis_url());
    let store = Store::new(&Settings::from_map(&config.vars).unwrap()).unwrap();
    let redis = redis::Client::open(config.vars["REDIS_URL"].as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    Fixture {
        store,
        redis,
        prefix: config.vars["REDIS_KEY_PREFIX"].clone(),
    }
}

/// A grant of `amount` tokens with its own grant id.
pub(super) fn credit<'a>(actor: &'a str, amount: i64, grant_id: &'a str) -> GrantRequest<'a> {
    GrantRequest {
        actor,
        amount,
        reason: "gift",
        request_id: "req",
        grant_id,
        marker_ttl_seconds: 60,
        request_hash: "",
    }
}

/// A claim on `key` for `body` by the request `owner`.
pub(super) fn claim(key: &str, body: &str, owner: &str) -> IdempotencyClaim {
    IdempotencyClaim {
        owner: owner.into(),
        ..IdempotencyClaim::new(
            Operation::Simulate,
            key,
            body,
            60,
            IdempotencyMode::Claim { lease_ms: 5_000 },
        )
    }
}

impl Fixture {
    /// The store with its scripts' clock at `at`.
    fn at(&self, at: u64) -> Store {
        self.store.with_clock(Clock::At(at))
    }

    async fn account(&self, actor: &str, at: u64) -> Account {
        let page = Page {
            limit: 100,
            cursor: None,
        };
        self.at(at).account(actor, Some(page)).await.unwrap()
    }

    async fn hold(&self, actor: &str, id: &str, at: u64) -> HoldOutcome {
        let request = HoldRequest {
            actor,
            cost: 1,
            hold_id: id.into(),
            lease_ms: 1_000,
            request_id: "req",
            reason: "simulation",
        };
        self.at(at).hold(&request).await.unwrap()
    }

    /// A hold that must succeed.
    async fn held(&self, actor: &str, id: &str, at: u64) -> Hold {
        match self.hold(actor, id, at).await {
            HoldOutcome::Held { hold, .. } => hold,
            other => panic!("hold refused: {other:?}"),
        }
    }

    async fn settle(&self, actor: &str, hold: HoldEnd<'_>, at: u64) -> Settled {
        let settlement = Settlement {
            actor,
            hold,
            claim: None,
        };
        self.at(at).settle(settlement).await.unwrap()
    }

    async fn end_claim(&self, actor: &str, claim: &IdempotencyClaim, end: ClaimEnd<'_>) {
        let settlement = Settlement {
            actor,
            hold: HoldEnd::None,
            claim: Some((claim, end)),
        };
        self.store.settle(settlement).await.unwrap();
    }

    /// Every key under this fixture's prefix with its value type, for "nothing was written".
    async fn snapshot(&mut self) -> Vec<String> {
        let mut keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}:*", self.prefix))
            .query_async(&mut self.redis)
            .await
            .unwrap();
        keys.sort();
        let mut out = Vec::new();
        for key in keys {
            let dump: Option<Vec<u8>> = redis::cmd("DUMP")
                .arg(&key)
                .query_async(&mut self.redis)
                .await
                .unwrap();
            out.push(format!("{key}={}", hex::encode(dump.unwrap_or_default())));
        }
        out
    }

    async fn script_flush(&mut self) {
        let _: () = redis::cmd("SCRIPT")
            .arg("FLUSH")
            .query_async(&mut self.redis)
            .await
            .unwrap();
    }
}

pub(super) fn assert_entries_sum_to_balance(account: &Account) {
    let sum: i64 = account.entries.iter().map(|e| e.amount).sum();
    assert_eq!(sum, account.balance, "{:?}", account.entries);
}
