//! The token ledger: holds, settlement, grants and account reads, each one script on the
//! actor's slot so the balance and its entries always change together.

use super::{
    Slot, Store, StoreError,
    idempotency::{self, ClaimEnd, ClaimSettled, IdempotencyClaim},
    reply::Reply,
    scripts::{self, Call},
};

/// Why a balance changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    DailyGrant,
    Grant,
    Spend,
    Release,
    Refund,
}

impl EntryKind {
    fn decode(script: &'static str, kind: &str) -> Result<Self, StoreError> {
        match kind {
            "daily_grant" => Ok(Self::DailyGrant),
            "grant" => Ok(Self::Grant),
            "spend" => Ok(Self::Spend),
            "release" => Ok(Self::Release),
            "refund" => Ok(Self::Refund),
            other => Err(StoreError::protocol(
                script,
                format!("unknown ledger entry kind {other:?}"),
            )),
        }
    }
}

/// One ledger entry, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub id: String,
    pub kind: EntryKind,
    pub amount: i64,
    pub balance_after: i64,
    pub reason: String,
    pub request_id: String,
    pub at_ms: u64,
}

/// A page of the ledger to read with the account: up to `limit` entries older than `cursor`
/// (the id of the last entry already seen).
#[derive(Debug, Clone, Copy)]
pub struct Page<'a> {
    pub limit: u32,
    pub cursor: Option<&'a str>,
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

/// A charge to take as a hold. Its id is chosen before the call, so whatever happens to the
/// reply, the request can still settle (refund) exactly this hold.
#[derive(Debug, Clone)]
pub struct HoldRequest<'a> {
    pub actor: &'a str,
    pub cost: i64,
    pub hold_id: String,
    pub lease_ms: u64,
    pub request_id: &'a str,
    pub reason: &'a str,
}

/// Tokens held for a request: the proof [`Store::settle`] needs to commit them.
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a hold is committed or refunded with Store::settle"]
pub struct Hold {
    pub id: String,
    pub cost: i64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum HoldOutcome {
    Held {
        hold: Hold,
        balance: i64,
    },
    /// Nothing was charged.
    Insufficient {
        balance: i64,
    },
}

/// What happens to a request's hold when the request ends.
#[derive(Debug)]
pub enum HoldEnd<'a> {
    /// The request had no hold.
    None,
    /// The request succeeded: the tokens stay spent.
    Commit(Hold),
    /// The request failed (or may have held without knowing it): return the hold with this
    /// id, if it exists.
    Refund { hold_id: &'a str, reason: &'a str },
}

/// The end of a request on an actor's account.
#[derive(Debug)]
pub struct Settlement<'a> {
    pub actor: &'a str,
    pub hold: HoldEnd<'a>,
    pub claim: Option<(&'a IdempotencyClaim, ClaimEnd<'a>)>,
}

/// What happened to the hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldSettled {
    Committed,
    Refunded,
    /// No such hold: its lease ran out and it was released already, or it never existed.
    Absent,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settled {
    pub hold: HoldSettled,
    pub claim: ClaimSettled,
}

/// Tokens to credit, exactly once per `grant_id`.
#[derive(Debug, Clone)]
pub struct GrantRequest<'a> {
    pub actor: &'a str,
    pub amount: i64,
    pub reason: &'a str,
    pub request_id: &'a str,
    pub grant_id: &'a str,
    /// How long the grant id is remembered.
    pub marker_ttl_seconds: u64,
    /// SHA-256 of the canonical grant request: a grant id applied by another request is a
    /// mismatch ('' = not compared).
    pub request_hash: &'a str,
}

/// What a grant did; `amount` is what the grant id credited (now, or when first applied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantOutcome {
    Granted {
        balance: i64,
        entry_id: String,
        amount: i64,
    },
    /// The same request applied this grant id already.
    Duplicate {
        balance: i64,
        entry_id: String,
        amount: i64,
    },
    /// Another request applied this grant id; nothing was credited now.
    Mismatch {
        balance: i64,
        entry_id: String,
        amount: i64,
    },
}

/// Tokens returned by holds whose lease ran out, noticed by a script bringing an account up
/// to date.
fn record_released(amount: i64) {
    if amount > 0 {
        crate::metrics::record_tokens("release", amount);
    }
}

impl Store {
    /// A call of an account script with its three account keys in place.
    fn account_call(&self, spec: &'static scripts::ScriptSpec, actor: &str) -> Call {
        let mut call = Call::new(spec);
        call.key(self.keys.account(actor))
            .key(self.keys.ledger(actor))
            .key(self.keys.holds(actor));
        call
    }

    /// Reads the account (after releasing expired holds and applying the daily allowance)
    /// and, with a `page`, a page of its ledger.
    ///
    /// With replica acknowledgements, a read that changes nothing must not queue behind the
    /// waits of the acknowledgement pool: it runs on the shared connection, asking the script
    /// to change nothing; only when a release or the allowance is due does it run again on
    /// the pool, and wait for the replicas.
    pub async fn account(
        &self,
        actor: &str,
        page: Option<Page<'_>>,
    ) -> Result<Account, StoreError> {
        let spec = &scripts::ACCOUNT_TOUCH;
        let (limit, cursor) = page.map_or((0, None), |p| (p.limit, p.cursor));
        let call = |read_only: bool| {
            let mut call = self.account_call(spec, actor);
            call.arg(self.clock.arg())
                .arg(self.daily_allowance)
                .arg(limit)
                .arg(cursor.unwrap_or(""))
                .arg(self.idle_account_ttl_seconds)
                .arg(if read_only { "1" } else { "" });
            call
        };
        let decode = |value: redis::Value| -> Result<(Option<Account>, bool), StoreError> {
            if let redis::Value::Array(items) = &value
                && let [redis::Value::BulkString(tag)] = items.as_slice()
                && tag.as_slice() == b"due"
            {
                return Ok((None, false));
            }
            let mut reply = Reply::new(spec.name, value)?;
            let mut account = Account {
                balance: reply.next()?,
                updated_ms: reply.next()?,
                now_ms: reply.next()?,
                open_holds: reply.next()?,
                entries: Vec::new(),
                has_more: false,
            };
            record_released(reply.next()?);
            let changed = reply.next::<i64>()? == 1;
            while reply.has_more() {
                account.entries.push(entry(spec.name, reply.next()?)?);
            }
            Ok((Some(account), changed))
        };
        let read = match self.acks {
            Some(_) => decode(self.run(&call(true)).await?)?.0,
            None => None,
        };
        let mut account = match read {
            Some(account) => account,
            None => self
                .run_account(&call(false), decode)
                .await?
                .ok_or_else(|| StoreError::protocol(spec.name, "\"due\" without read_only"))?,
        };
        if limit > 0 && account.entries.len() > limit as usize {
            account.entries.truncate(limit as usize);
            account.has_more = true;
        }
        Ok(account)
    }

    /// Takes the request's cost as a hold that ends with [`Store::settle`] or its lease.
    pub async fn hold(&self, request: &HoldRequest<'_>) -> Result<HoldOutcome, StoreError> {
        let spec = &scripts::LEDGER_HOLD;
        let mut call = self.account_call(spec, request.actor);
        call.arg(self.clock.arg())
            .arg(self.daily_allowance)
            .arg(request.cost)
            .arg(&request.hold_id)
            .arg(request.lease_ms)
            .arg(request.request_id)
            .arg(request.reason)
            .arg(self.idle_account_ttl_seconds);
        self.run_account(&call, |value| {
            let mut reply = Reply::new(spec.name, value)?;
            let tag: String = reply.next()?;
            let balance: i64 = reply.next()?;
            record_released(reply.next()?);
            let changed = reply.next::<i64>()? == 1;
            let outcome = match tag.as_str() {
                "held" => {
                    crate::metrics::record_tokens("spend", request.cost);
                    let hold = Hold {
                        id: request.hold_id.clone(),
                        cost: request.cost,
                    };
                    HoldOutcome::Held { hold, balance }
                }
                "insufficient" => HoldOutcome::Insufficient { balance },
                other => return Err(reply.unexpected(other)),
            };
            Ok((outcome, changed))
        })
        .await
    }

    /// Ends a request on the actor's account: its hold and its idempotency claim (if any),
    /// atomically. Replicas confirm (`REDIS_MIN_REPLICA_ACKS`) a refund and a stored response;
    /// a bare commit needs no confirmation: lost to a failover, it leaves the hold to be
    /// released after its lease, so the caller keeps the token — a failover can give back,
    /// never take.
    pub async fn settle(&self, settlement: Settlement<'_>) -> Result<Settled, StoreError> {
        let spec = &scripts::LEDGER_SETTLE;
        let Settlement { actor, hold, claim } = settlement;
        let slot = Slot::Actor(actor.to_owned());
        let mut call = self.account_call(spec, actor);
        match &claim {
            Some((c, _)) => call.key(self.idempotency_key(&slot, c)),
            None => call.key(self.keys.account(actor)),
        };
        call.arg(self.clock.arg());
        match &hold {
            HoldEnd::None => call.arg("").arg("").arg(""),
            HoldEnd::Commit(hold) => call.arg(&hold.id).arg("commit").arg(""),
            HoldEnd::Refund { hold_id, reason } => call.arg(*hold_id).arg("refund").arg(*reason),
        };
        idempotency::push_end(&mut call, claim.as_ref().map(|(c, end)| (*c, end)));
        call.arg(self.daily_allowance)
            .arg(self.idle_account_ttl_seconds);
        self.run_account(&call, |value| {
            let mut reply = Reply::new(spec.name, value)?;
            let hold_tag: String = reply.next()?;
            let claim_tag: String = reply.next()?;
            let refunded: i64 = reply.next()?;
            if refunded > 0 {
                crate::metrics::record_tokens("refund", refunded);
            }
            let hold = match hold_tag.as_str() {
                "committed" => HoldSettled::Committed,
                "refunded" => HoldSettled::Refunded,
                "absent" => HoldSettled::Absent,
                "none" => HoldSettled::None,
                other => return Err(reply.unexpected(other)),
            };
            let settled = Settled {
                hold,
                claim: ClaimSettled::decode(spec.name, &claim_tag)?,
            };
            let changed =
                settled.hold == HoldSettled::Refunded || settled.claim == ClaimSettled::Stored;
            Ok((settled, changed))
        })
        .await
    }

    /// Credits tokens once per grant id.
    pub async fn grant(&self, request: &GrantRequest<'_>) -> Result<GrantOutcome, StoreError> {
        let spec = &scripts::LEDGER_GRANT;
        let mut call = self.account_call(spec, request.actor);
        call.key(self.keys.grant_marker(request.actor, request.grant_id))
            .arg(self.clock.arg())
            .arg(self.daily_allowance)
            .arg(request.amount)
            .arg(request.reason)
            .arg(request.request_id)
            .arg(request.marker_ttl_seconds)
            .arg(request.request_hash)
            .arg(self.idle_account_ttl_seconds);
        self.run_account(&call, |value| {
            let mut reply = Reply::new(spec.name, value)?;
            let tag: String = reply.next()?;
            let balance: i64 = reply.next()?;
            let entry_id: String = reply.next()?;
            record_released(reply.next()?);
            let amount: i64 = reply.next()?;
            // A duplicate rewrote its marker, so waiting covers the grant it found.
            Ok(match tag.as_str() {
                "granted" => {
                    crate::metrics::record_tokens("grant", amount);
                    let granted = GrantOutcome::Granted {
                        balance,
                        entry_id,
                        amount,
                    };
                    (granted, true)
                }
                "duplicate" => {
                    let duplicate = GrantOutcome::Duplicate {
                        balance,
                        entry_id,
                        amount,
                    };
                    (duplicate, true)
                }
                "mismatch" => {
                    let mismatch = GrantOutcome::Mismatch {
                        balance,
                        entry_id,
                        amount,
                    };
                    (mismatch, false)
                }
                other => return Err(reply.unexpected(other)),
            })
        })
        .await
    }
}

/// A ledger entry as `account_touch` returns it.
fn entry(script: &'static str, raw: Vec<String>) -> Result<LedgerEntry, StoreError> {
    let [id, kind, amount, balance_after, reason, request_id, at]: [String; 7] = raw
        .try_into()
        .map_err(|_| StoreError::protocol(script, "malformed ledger entry"))?;
    let number = |s: &str| {
        s.parse::<i64>()
            .map_err(|_| StoreError::protocol(script, "malformed ledger number"))
    };
    Ok(LedgerEntry {
        id,
        kind: EntryKind::decode(script, &kind)?,
        amount: number(&amount)?,
        balance_after: number(&balance_after)?,
        reason,
        request_id,
        at_ms: number(&at)?.max(0) as u64,
    })
}
