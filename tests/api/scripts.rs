//! Each account, admission and key script on its own against real Redis, with the clock
//! driven through the scripts' time input: happy path, a denial that writes nothing, and
//! survival of SCRIPT FLUSH.

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

const DAY_MS: u64 = 86_400_000;
/// Noon of some UTC day.
const T0: u64 = 20_000 * DAY_MS + DAY_MS / 2;
const DAILY: i64 = 5;

struct Fixture {
    store: Store,
    redis: redis::aio::MultiplexedConnection,
    prefix: String,
}

async fn fixture() -> Fixture {
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
fn credit<'a>(actor: &'a str, amount: i64, grant_id: &'a str) -> GrantRequest<'a> {
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
fn claim(key: &str, body: &str, owner: &str) -> IdempotencyClaim {
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

fn assert_entries_sum_to_balance(account: &Account) {
    let sum: i64 = account.entries.iter().map(|e| e.amount).sum();
    assert_eq!(sum, account.balance, "{:?}", account.entries);
}

#[tokio::test]
async fn the_daily_allowance_applies_once_per_utc_day() {
    let f = fixture().await;

    let first = f.account("ann", T0).await;
    assert_eq!(first.balance, DAILY);
    let hold = f.held("ann", "h1", T0).await;
    f.settle("ann", HoldEnd::Commit(hold), T0).await;
    let same_day = f.account("ann", T0 + 3_600_000).await;
    let next_day = f.account("ann", T0 + DAY_MS).await;

    assert_eq!(
        same_day.balance,
        DAILY - 1,
        "no second allowance on the same day"
    );
    assert_eq!(next_day.balance, DAILY, "topped up on the next UTC day");
    let grants = next_day
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::DailyGrant)
        .count();
    assert_eq!(grants, 2);
    assert_eq!(
        next_day.entries[0].amount, 1,
        "the top-up fills the gap only"
    );
    assert_entries_sum_to_balance(&next_day);
}

#[tokio::test]
async fn a_balance_above_the_allowance_is_not_topped_up() {
    let f = fixture().await;
    f.at(T0).grant(&credit("ben", 10, "g1")).await.unwrap();

    let tomorrow = f.account("ben", T0 + DAY_MS).await;

    assert_eq!(tomorrow.balance, DAILY + 10);
    assert_entries_sum_to_balance(&tomorrow);
}

#[tokio::test]
async fn a_hold_that_never_settles_is_released_after_its_lease() {
    let f = fixture().await;
    let HoldOutcome::Held { hold, balance: 4 } = f.hold("cat", "h1", T0).await else {
        panic!("one token held");
    };

    let during = f.account("cat", T0 + 999).await;
    let after = f.account("cat", T0 + 1_000).await;

    assert_eq!((during.balance, during.open_holds), (4, 1));
    assert_eq!((after.balance, after.open_holds), (5, 0));
    assert_eq!(after.entries[0].kind, EntryKind::Release);
    assert_eq!(after.entries[0].amount, 1);
    assert_entries_sum_to_balance(&after);
    let late = f.settle("cat", HoldEnd::Commit(hold), T0 + 2_000).await;
    assert_eq!(
        late.hold,
        HoldSettled::Absent,
        "a late commit cannot charge twice"
    );
}

#[tokio::test]
async fn a_refunded_hold_returns_the_token_with_a_refund_entry() {
    let f = fixture().await;
    let _hold = f.held("dan", "h1", T0).await;

    let refund = HoldEnd::Refund {
        hold_id: "h1",
        reason: "engine failed",
    };
    let settled = f.settle("dan", refund, T0 + 10).await;

    assert_eq!(settled.hold, HoldSettled::Refunded);
    let account = f.account("dan", T0 + 20).await;
    assert_eq!(account.balance, DAILY);
    assert_eq!(account.entries[0].kind, EntryKind::Refund);
    assert_entries_sum_to_balance(&account);
}

#[tokio::test]
async fn an_insufficient_hold_writes_nothing() {
    let mut f = fixture().await;
    for i in 0..DAILY {
        f.hold("eve", &format!("h{i}"), T0).await;
    }
    let before = f.snapshot().await;

    let denied = f.hold("eve", "one-too-many", T0 + 1).await;

    assert_eq!(denied, HoldOutcome::Insufficient { balance: 0 });
    assert_eq!(f.snapshot().await, before);
}

#[tokio::test]
async fn a_grant_applies_once_per_grant_id() {
    let mut f = fixture().await;

    let first = f.at(T0).grant(&credit("fay", 3, "g-1")).await.unwrap();
    let before = f.snapshot().await;
    let again = f.at(T0 + 1).grant(&credit("fay", 3, "g-1")).await.unwrap();

    assert_eq!(
        f.snapshot().await,
        before,
        "a duplicate grant writes nothing"
    );
    let GrantOutcome::Granted {
        balance, entry_id, ..
    } = first
    else {
        panic!("first grant applies: {first:?}");
    };
    assert_eq!(balance, DAILY + 3);
    assert_eq!(
        again,
        GrantOutcome::Duplicate {
            balance: DAILY + 3,
            entry_id,
            amount: 3
        }
    );
    assert_entries_sum_to_balance(&f.account("fay", T0 + 2).await);
}

#[tokio::test]
async fn the_bucket_admits_the_burst_then_refills_at_the_configured_rate() {
    let mut f = fixture().await;
    let slot = Slot::Actor("gus".into());
    let limit = RateLimit {
        capacity: 3,
        per_minute: 60,
    };
    let store = f.store.clone();
    let admit = |at: u64| {
        let store = store.with_clock(Clock::At(at));
        let slot = slot.clone();
        async move { store.admit(&slot, Some(limit), None).await.unwrap() }
    };

    for expected_remaining in [2, 1, 0] {
        let (admission, state) = admit(T0).await;
        assert_eq!(admission, Admission::Admitted);
        assert_eq!(state.remaining, expected_remaining);
    }
    let before = f.snapshot().await;
    let (denied, state) = admit(T0 + 400).await;
    assert_eq!(denied, Admission::Limited);
    assert_eq!(
        state.retry_in_ms, 600,
        "one token per second, 400 ms elapsed"
    );
    assert_eq!(f.snapshot().await, before, "a denial consumes nothing");

    let (refilled, _) = admit(T0 + 1_000).await;
    let (empty_again, _) = admit(T0 + 1_000).await;
    let (after_three_seconds, state) = admit(T0 + 4_000).await;

    assert_eq!(refilled, Admission::Admitted);
    assert_eq!(empty_again, Admission::Limited);
    assert_eq!(after_three_seconds, Admission::Admitted);
    assert_eq!(state.remaining, 2, "refill is capped at the burst");
}

#[tokio::test]
async fn an_idempotency_claim_replays_conflicts_and_mismatches() {
    let f = fixture().await;
    let slot = Slot::Actor("hal".into());
    let first = claim("key-1", "a", "owner-1");
    let admit = |claim: IdempotencyClaim| {
        let (store, slot) = (f.store.clone(), slot.clone());
        async move { store.admit(&slot, None, Some(&claim)).await.unwrap().0 }
    };

    let claimed = admit(first.clone()).await;
    let running = admit(claim("key-1", "a", "owner-2")).await;
    let stored = ClaimEnd::Store {
        status: 200,
        body: "{\"ok\":true}",
    };
    f.end_claim("hal", &first, stored).await;
    let replayed = admit(claim("key-1", "a", "owner-3")).await;
    let mismatch = admit(claim("key-1", "b", "owner-4")).await;

    assert_eq!(claimed, Admission::Admitted);
    assert!(matches!(running, Admission::InFlight { retry_in_ms } if retry_in_ms <= 5_000));
    assert_eq!(
        replayed,
        Admission::Replay {
            status: 200,
            body: "{\"ok\":true}".into()
        }
    );
    assert_eq!(mismatch, Admission::Mismatch);
}

#[tokio::test]
async fn a_forgotten_claim_lets_a_retry_run_again() {
    let f = fixture().await;
    let slot = Slot::Actor("ida".into());
    let first = claim("k", "body", "first");
    f.store.admit(&slot, None, Some(&first)).await.unwrap();

    f.end_claim("ida", &first, ClaimEnd::Forget).await;
    let retry = claim("k", "body", "second");
    let (admission, _) = f.store.admit(&slot, None, Some(&retry)).await.unwrap();

    assert_eq!(admission, Admission::Admitted);
}

#[tokio::test]
async fn account_scripts_survive_script_flush() {
    let mut f = fixture().await;
    f.account("jon", T0).await;
    f.script_flush().await;

    let hold = f.held("jon", "h1", T0).await;
    f.script_flush().await;
    let settled = f.settle("jon", HoldEnd::Commit(hold), T0).await;
    f.script_flush().await;
    let granted = f.at(T0).grant(&credit("jon", 1, "g")).await.unwrap();
    f.script_flush().await;
    let limit = RateLimit {
        capacity: 1,
        per_minute: 1,
    };
    let (admitted, _) = f
        .at(T0)
        .admit(&Slot::Actor("jon".into()), Some(limit), None)
        .await
        .unwrap();
    f.script_flush().await;
    let revoked = f
        .store
        .api_key_revoke("0123456789abcdef", T0)
        .await
        .unwrap();
    f.script_flush().await;
    let admin_claim = IdempotencyClaim {
        operation: Operation::Grant,
        ..claim("admin-key", "body", "owner")
    };
    f.store
        .admit(&Slot::Admin, None, Some(&admin_claim))
        .await
        .unwrap();
    f.script_flush().await;
    let finished = f
        .store
        .idempotency_finish(&Slot::Admin, &admin_claim, &ClaimEnd::Forget)
        .await
        .unwrap();

    assert_eq!(settled.hold, HoldSettled::Committed);
    assert!(matches!(granted, GrantOutcome::Granted { .. }));
    assert_eq!(admitted, Admission::Admitted);
    assert!(!revoked, "unknown key");
    assert_eq!(finished, ClaimSettled::Forgotten);
    assert_entries_sum_to_balance(&f.account("jon", T0).await);
}

#[tokio::test]
async fn ledger_pages_walk_back_through_every_entry() {
    let f = fixture().await;
    for i in 0..7 {
        let grant_id = format!("g{i}");
        f.at(T0 + i)
            .grant(&credit("kim", 1, &grant_id))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = Page {
            limit: 3,
            cursor: cursor.as_deref(),
        };
        let page = f.at(T0 + 10).account("kim", Some(page)).await.unwrap();
        seen.extend(page.entries.iter().map(|e| e.id.clone()));
        if !page.has_more {
            break;
        }
        cursor = page.entries.last().map(|e| e.id.clone());
    }

    assert_eq!(seen.len(), 8, "7 grants and the first daily allowance");
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    sorted.dedup();
    assert_eq!(sorted.len(), 8, "no entry twice");
}

/// Runs the call `build` makes twice, as a client that retries after a lost reply would,
/// and asserts that the second run changed nothing.
async fn twice(f: &mut Fixture, build: impl Fn(&Keys) -> Call) {
    let keys = f.store.keys().clone();
    let first = build(&keys);
    f.store.run_call(&first).await.unwrap();
    let after_once = f.snapshot().await;
    f.store.run_call(&build(&keys)).await.unwrap();
    assert_eq!(
        f.snapshot().await,
        after_once,
        "{} changed state when run again",
        first.spec.name
    );
}

#[tokio::test]
async fn every_script_is_safe_to_run_twice_with_the_same_arguments() {
    let mut f = fixture().await;
    let t0 = T0.to_string();
    let actor = Slot::Actor("rio".into());
    let account = |keys: &Keys, spec| {
        let mut call = Call::new(spec);
        call.key(keys.account("rio"))
            .key(keys.ledger("rio"))
            .key(keys.holds("rio"));
        call
    };
    let record = |keys: &Keys, slot: &Slot, key: &str| {
        keys.idempotency(slot, Operation::Simulate.scope(), key)
    };

    twice(&mut f, |k| {
        let mut call = account(k, &scripts::ACCOUNT_TOUCH);
        call.arg(&t0).arg(DAILY).arg(10).arg("").arg(3_600).arg("");
        call
    })
    .await;
    twice(&mut f, |k| {
        let mut call = account(k, &scripts::LEDGER_HOLD);
        call.arg(&t0)
            .arg(DAILY)
            .arg(1)
            .arg("h1")
            .arg(60_000)
            .arg("r1")
            .arg("sim")
            .arg(3_600);
        call
    })
    .await;
    twice(&mut f, |k| {
        let mut call = account(k, &scripts::LEDGER_SETTLE);
        call.key(k.account("rio"))
            .arg(&t0)
            .arg("h1")
            .arg("refund")
            .arg("failed");
        call.arg("")
            .arg("")
            .arg(0)
            .arg("")
            .arg(0)
            .arg(DAILY)
            .arg(3_600);
        call
    })
    .await;
    twice(&mut f, |k| {
        let mut call = account(k, &scripts::LEDGER_GRANT);
        call.key(k.grant_marker("rio", "g1"))
            .arg(&t0)
            .arg(DAILY)
            .arg(2)
            .arg("gift")
            .arg("r2")
            .arg(60)
            .arg("hash")
            .arg(3_600);
        call
    })
    .await;
    for (key, mode, owner) in [("k1", "claim", "o1"), ("k2", "store", "o2")] {
        twice(&mut f, |k| {
            let mut call = Call::new(&scripts::ADMIT);
            call.key(k.rate_bucket(&actor))
                .key(record(k, &actor, key))
                .key(k.idempotency_index(&actor))
                .arg(&t0)
                .arg(format!("admission-{key}"))
                .arg(5)
                .arg(60)
                .arg(mode)
                .arg("body-hash")
                .arg(owner)
                .arg(5_000)
                .arg(60)
                .arg(200)
                .arg("{}")
                .arg(100);
            call
        })
        .await;
    }
    twice(&mut f, |k| {
        let mut call = account(k, &scripts::LEDGER_SETTLE);
        call.key(record(k, &actor, "k1"))
            .arg(&t0)
            .arg("")
            .arg("")
            .arg("");
        call.arg("o1")
            .arg("store")
            .arg(200)
            .arg("{\"n\":1}")
            .arg(60);
        call.arg(DAILY).arg(3_600);
        call
    })
    .await;
    twice(&mut f, |k| {
        let mut call = Call::new(&scripts::IDEMPOTENCY_FINISH);
        call.key(record(k, &actor, "k2"))
            .arg("o2")
            .arg("store")
            .arg(200)
            .arg("{}")
            .arg(60);
        call
    })
    .await;
    twice(&mut f, |k| {
        let mut call = Call::new(&scripts::IDEMPOTENCY_CONFIRM);
        call.key(record(k, &actor, "k2"));
        call
    })
    .await;
    twice(&mut f, |k| {
        let mut call = Call::new(&scripts::CACHE_CLAIM);
        call.key(k.cache_result("fp"))
            .key(k.cache_lock("fp"))
            .arg("c1")
            .arg(60_000);
        call
    })
    .await;
    twice(&mut f, |k| {
        let mut call = Call::new(&scripts::CACHE_STORE);
        call.key(k.cache_result("fp"))
            .key(k.cache_lock("fp"))
            .arg("c1")
            .arg("{\"x\":1}")
            .arg(60);
        call
    })
    .await;
    twice(&mut f, |k| {
        let mut call = Call::new(&scripts::CACHE_RELEASE);
        call.key(k.cache_lock("fp")).arg("c1");
        call
    })
    .await;
    let _: () = redis::cmd("HSET")
        .arg(f.store.keys().api_key("0123456789abcdef"))
        .arg("actor_id")
        .arg("rio")
        .query_async(&mut f.redis)
        .await
        .unwrap();
    twice(&mut f, |k| {
        let mut call = Call::new(&scripts::API_KEY_REVOKE);
        call.key(k.api_key("0123456789abcdef")).arg(T0);
        call
    })
    .await;
}

/// `account_touch` with `read_only`: its reply, and whether it wrote anything.
async fn touch_read_only(f: &mut Fixture, actor: &str, at: u64) -> (redis::Value, bool) {
    let before = f.snapshot().await;
    let keys = f.store.keys().clone();
    let mut call = Call::new(&scripts::ACCOUNT_TOUCH);
    call.key(keys.account(actor))
        .key(keys.ledger(actor))
        .key(keys.holds(actor))
        .arg(at)
        .arg(DAILY)
        .arg(0)
        .arg("")
        .arg(3_600)
        .arg("1");
    let reply = f.store.run_call(&call).await.unwrap();
    let wrote = f.snapshot().await != before;
    (reply, wrote)
}

fn is_due(reply: &redis::Value) -> bool {
    matches!(reply, redis::Value::Array(items)
        if matches!(items.as_slice(), [redis::Value::BulkString(tag)] if tag.as_slice() == b"due"))
}

#[tokio::test]
async fn a_read_only_touch_changes_nothing_when_the_allowance_or_a_release_is_due() {
    let mut f = fixture().await;

    let (new_account, wrote_new) = touch_read_only(&mut f, "ivy", T0).await;
    let topped_up = f.account("ivy", T0).await;
    let (fresh, _) = touch_read_only(&mut f, "ivy", T0 + 1).await;
    let _hold = f.held("ivy", "h1", T0 + 2).await;
    let (lease_running, _) = touch_read_only(&mut f, "ivy", T0 + 500).await;
    let (lease_over, wrote_release) = touch_read_only(&mut f, "ivy", T0 + 5_000).await;
    let (next_day, _) = touch_read_only(&mut f, "ivy", T0 + DAY_MS).await;

    assert!(
        is_due(&new_account),
        "the allowance is due: {new_account:?}"
    );
    assert!(!wrote_new, "a due read-only touch writes nothing");
    assert_eq!(topped_up.balance, DAILY);
    assert!(!is_due(&fresh), "nothing due: the account itself");
    assert!(!is_due(&lease_running));
    assert!(is_due(&lease_over), "an expired hold is due for release");
    assert!(!wrote_release);
    assert!(
        is_due(&next_day),
        "the next day's allowance (the hold is released with it)"
    );
}

#[tokio::test]
async fn a_stored_answer_is_rewritten_unchanged_to_confirm_it_and_nothing_else_is() {
    let mut f = fixture().await;
    let slot = Slot::Actor("ora".into());
    let running = claim("key-c", "a", "owner-1");
    let admitted = f.store.admit(&slot, None, Some(&running)).await.unwrap().0;
    let keys = f.store.keys().clone();
    let record = keys.idempotency(&slot, Operation::Simulate.scope(), &running.key_hash);
    let confirm = || {
        let mut call = Call::new(&scripts::IDEMPOTENCY_CONFIRM);
        call.key(&record);
        call
    };

    let while_running = f.store.run_call(&confirm()).await.unwrap();
    f.end_claim(
        "ora",
        &running,
        ClaimEnd::Store {
            status: 200,
            body: "{}",
        },
    )
    .await;
    let before = f.snapshot().await;
    let once_done = f.store.run_call(&confirm()).await.unwrap();

    assert_eq!(admitted, Admission::Admitted);
    assert_eq!(
        while_running,
        redis::Value::Int(0),
        "a running claim is no answer"
    );
    assert_eq!(once_done, redis::Value::Int(1));
    assert_eq!(f.snapshot().await, before, "rewritten as it was");
}

#[tokio::test]
async fn redis_time_stepping_back_across_midnight_grants_no_second_allowance() {
    let f = fixture().await;
    let tomorrow = T0 + DAY_MS / 2 + 1_000; // just after the next midnight
    let hold = f.held("sol", "h1", T0).await;
    f.settle("sol", HoldEnd::Commit(hold), T0).await;
    let next_day = f.account("sol", tomorrow).await;
    let hold = f.held("sol", "h2", tomorrow).await;
    f.settle("sol", HoldEnd::Commit(hold), tomorrow).await;

    // A failover to a replica whose clock is two seconds behind: before midnight again.
    let back = f.account("sol", tomorrow - 2_000).await;
    let forward = f.account("sol", tomorrow + 1_000).await;

    assert_eq!(next_day.balance, DAILY, "topped up once on the new day");
    assert_eq!(back.balance, DAILY - 1, "no second allowance");
    assert_eq!(forward.balance, DAILY - 1);
    let allowances = forward
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::DailyGrant)
        .count();
    assert_eq!(allowances, 2);
    assert_entries_sum_to_balance(&forward);
}

#[tokio::test]
async fn a_grant_id_applied_by_another_request_is_a_mismatch_that_credits_nothing() {
    let mut f = fixture().await;
    let first = GrantRequest {
        request_hash: "hash-of-3",
        ..credit("tim", 3, "g-key")
    };
    let other = GrantRequest {
        request_hash: "hash-of-7",
        ..credit("tim", 7, "g-key")
    };
    f.at(T0).grant(&first).await.unwrap();
    let before = f.snapshot().await;

    let same = f.at(T0 + 1).grant(&first).await.unwrap();
    let different = f.at(T0 + 2).grant(&other).await.unwrap();

    assert!(
        matches!(same, GrantOutcome::Duplicate { amount: 3, .. }),
        "{same:?}"
    );
    assert!(
        matches!(different, GrantOutcome::Mismatch { amount: 3, .. }),
        "{different:?}"
    );
    assert_eq!(f.snapshot().await, before, "nothing credited");
}
