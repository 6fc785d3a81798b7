//! The account scripts: allowance, holds, refunds, releases, grants.

use super::*;

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
