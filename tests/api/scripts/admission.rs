//! Admission (rate limit and idempotency), SCRIPT FLUSH, and ledger pages.

use super::*;

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
