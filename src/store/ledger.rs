//! The token ledger: holds, settlement, grants and account reads, each one script on the
//! actor's slot so the balance and its entries always change together.

use super::{Clock, Store, StoreError, keys::Slot, reply::Reply, scripts};

/// One ledger entry, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub id: String,
    pub kind: String,
    pub amount: i64,
    pub balance_after: i64,
    pub reason: String,
    pub request_id: String,
    pub at_ms: u64,
}

/// An account brought up to date, with an optional page of its ledger (newest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub balance: i64,
    /// Last balance change, ms since the epoch (0 when never).
    pub updated_ms: u64,
    /// Redis time of the read.
    pub now_ms: u64,
    pub open_holds: u64,
    pub entries: Vec<LedgerEntry>,
    /// More entries exist after the page.
    pub has_more: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldOutcome {
    Held { balance: i64 },
    Insufficient { balance: i64 },
}

/// How a hold ends.
#[derive(Debug, Clone, Copy)]
pub enum HoldEnd<'a> {
    Commit,
    Refund { reason: &'a str },
}

/// What happens to an idempotency claim when its request ends.
#[derive(Debug, Clone)]
pub enum ClaimEnd<'a> {
    /// Keep the final response for replays.
    Store {
        status: u16,
        body: &'a str,
        ttl_seconds: u64,
    },
    /// A transient outcome: drop the claim so a retry runs again.
    Forget,
}

/// Result of settling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    /// "committed" | "refunded" | "expired" | "none"
    pub hold: String,
    /// "stored" | "forgotten" | "not_owner" | "none"
    pub claim: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantOutcome {
    Granted { balance: i64, entry_id: String },
    Duplicate { balance: i64, entry_id: String },
}

/// Tokens returned by holds whose lease ran out, noticed by a script bringing an account up
/// to date.
fn record_released(amount: i64) {
    if amount > 0 {
        crate::metrics::record_tokens("release", amount);
    }
}

impl Store {
    fn account_keys<'a, 's>(
        &self,
        invocation: &'a mut redis::ScriptInvocation<'s>,
        actor: &str,
    ) -> &'a mut redis::ScriptInvocation<'s> {
        invocation
            .key(self.keys.account(actor))
            .key(self.keys.ledger(actor))
            .key(self.keys.holds(actor))
    }

    /// Reads the account (after releasing expired holds and applying the daily allowance)
    /// and, with `page = Some((limit, cursor))`, up to `limit` entries older than `cursor`.
    pub async fn account(
        &self,
        actor: &str,
        daily: i64,
        page: Option<(u32, Option<&str>)>,
        clock: Clock,
    ) -> Result<Account, StoreError> {
        let script = &scripts::ACCOUNT_TOUCH;
        let mut invocation = script.script.prepare_invoke();
        let (limit, cursor) = page.unwrap_or((0, None));
        self.account_keys(&mut invocation, actor)
            .arg(clock.arg())
            .arg(daily)
            .arg(limit)
            .arg(cursor.unwrap_or(""));
        let mut reply = Reply::new(script.name, self.script(script.name, &invocation).await?)?;
        let mut account = Account {
            balance: reply.next()?,
            updated_ms: reply.next()?,
            now_ms: reply.next()?,
            open_holds: reply.next()?,
            entries: Vec::new(),
            has_more: false,
        };
        record_released(reply.next()?);
        while reply.has_more() {
            let raw: Vec<String> = reply.next()?;
            let [id, kind, amount, balance_after, reason, request_id, at]: [String; 7] = raw
                .try_into()
                .map_err(|_| StoreError::protocol(script.name, "malformed ledger entry"))?;
            let number = |s: &str| {
                s.parse::<i64>()
                    .map_err(|_| StoreError::protocol(script.name, "malformed ledger number"))
            };
            account.entries.push(LedgerEntry {
                id,
                kind,
                amount: number(&amount)?,
                balance_after: number(&balance_after)?,
                reason,
                request_id,
                at_ms: number(&at)?.max(0) as u64,
            });
        }
        if limit > 0 && account.entries.len() > limit as usize {
            account.entries.truncate(limit as usize);
            account.has_more = true;
        }
        Ok(account)
    }

    /// Takes `cost` tokens as a hold that ends with [`Store::settle`] or its lease.
    #[allow(clippy::too_many_arguments)]
    pub async fn hold(
        &self,
        actor: &str,
        daily: i64,
        cost: i64,
        hold_id: &str,
        lease_ms: u64,
        request_id: &str,
        reason: &str,
        clock: Clock,
    ) -> Result<HoldOutcome, StoreError> {
        let script = &scripts::LEDGER_HOLD;
        let mut invocation = script.script.prepare_invoke();
        self.account_keys(&mut invocation, actor)
            .arg(clock.arg())
            .arg(daily)
            .arg(cost)
            .arg(hold_id)
            .arg(lease_ms)
            .arg(request_id)
            .arg(reason);
        let mut reply = Reply::new(script.name, self.script(script.name, &invocation).await?)?;
        let tag: String = reply.next()?;
        let balance: i64 = reply.next()?;
        record_released(reply.next()?);
        match tag.as_str() {
            "held" => {
                crate::metrics::record_tokens("spend", cost);
                Ok(HoldOutcome::Held { balance })
            }
            "insufficient" => Ok(HoldOutcome::Insufficient { balance }),
            other => Err(reply.unexpected(other)),
        }
    }

    /// Ends a request on the actor's account: its hold (if any) and its idempotency claim
    /// (if any), atomically.
    pub async fn settle(
        &self,
        actor: &str,
        hold: Option<(&str, HoldEnd<'_>)>,
        claim: Option<(&super::admission::IdempotencyClaim, ClaimEnd<'_>)>,
        clock: Clock,
    ) -> Result<Settled, StoreError> {
        let script = &scripts::LEDGER_SETTLE;
        let slot = Slot::Actor(actor.to_owned());
        let mut invocation = script.script.prepare_invoke();
        self.account_keys(&mut invocation, actor);
        match &claim {
            Some((c, _)) => invocation.key(self.keys.idempotency(&slot, c.scope, &c.key_hash)),
            None => invocation.key(self.keys.account(actor)),
        };
        invocation.arg(clock.arg());
        let mut refund_reason = "";
        match hold {
            Some((id, HoldEnd::Commit)) => invocation.arg(id).arg("commit"),
            Some((id, HoldEnd::Refund { reason })) => {
                refund_reason = reason;
                invocation.arg(id).arg("refund")
            }
            None => invocation.arg("").arg(""),
        };
        match &claim {
            Some((
                c,
                ClaimEnd::Store {
                    status,
                    body,
                    ttl_seconds,
                },
            )) => invocation
                .arg(&c.owner)
                .arg("store")
                .arg(*status)
                .arg(*body)
                .arg(*ttl_seconds),
            Some((c, ClaimEnd::Forget)) => {
                invocation.arg(&c.owner).arg("forget").arg(0).arg("").arg(0)
            }
            None => invocation.arg("").arg("").arg(0).arg("").arg(0),
        };
        invocation.arg(refund_reason);
        let mut reply = Reply::new(script.name, self.script(script.name, &invocation).await?)?;
        let settled = Settled {
            hold: reply.next()?,
            claim: reply.next()?,
        };
        let refunded: i64 = reply.next()?;
        if refunded > 0 {
            crate::metrics::record_tokens("refund", refunded);
        }
        Ok(settled)
    }

    /// Credits `amount` tokens once per `grant_id`.
    #[allow(clippy::too_many_arguments)]
    pub async fn grant(
        &self,
        actor: &str,
        daily: i64,
        amount: i64,
        reason: &str,
        request_id: &str,
        grant_id: &str,
        marker_ttl_seconds: u64,
        clock: Clock,
    ) -> Result<GrantOutcome, StoreError> {
        let script = &scripts::LEDGER_GRANT;
        let mut invocation = script.script.prepare_invoke();
        self.account_keys(&mut invocation, actor)
            .key(self.keys.grant_marker(actor, grant_id))
            .arg(clock.arg())
            .arg(daily)
            .arg(amount)
            .arg(reason)
            .arg(request_id)
            .arg(marker_ttl_seconds);
        let mut reply = Reply::new(script.name, self.script(script.name, &invocation).await?)?;
        let tag: String = reply.next()?;
        let balance: i64 = reply.next()?;
        let entry_id: String = reply.next()?;
        record_released(reply.next()?);
        match tag.as_str() {
            "granted" => {
                crate::metrics::record_tokens("grant", amount);
                Ok(GrantOutcome::Granted { balance, entry_id })
            }
            "duplicate" => Ok(GrantOutcome::Duplicate { balance, entry_id }),
            other => Err(reply.unexpected(other)),
        }
    }
}
