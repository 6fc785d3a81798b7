//! What a retry after a lost reply, or a clock stepping back, does to each script.

use super::*;

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
    twice(&mut f, |k| {
        let mut call = Call::new(&scripts::RATE);
        call.key(k.rate_bucket(&actor))
            .arg(&t0)
            .arg("admission-without-key")
            .arg(5)
            .arg(60);
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
