//! The caller's tokens: `GET /api/balance` and `GET /api/ledger`.

use std::sync::Arc;

use poem::Request;
use poem_openapi::{Enum, Object, OpenApi, param::Query, payload::Json, types::Example};

use super::{
    ApiTags, admission, auth,
    error::{ApiError, doc},
    model::mirror,
    rfc3339_ms,
};
use crate::{
    config::Settings,
    store::{
        Slot, Store,
        ledger::{self, LedgerEntry as StoredEntry, Page},
    },
};

const ERRORS: u32 = doc::BASE | doc::UNAUTHORIZED | doc::RATE_LIMITED;
const LEDGER_ERRORS: u32 = ERRORS | doc::INVALID;
const DAY_MS: u64 = 86_400_000;

pub struct TokensApi {
    pub settings: Arc<Settings>,
    pub store: Store,
}

/// The caller's balance.
#[derive(Debug, Object)]
#[oai(example)]
pub struct Balance {
    pub actor_id: String,
    /// Tokens available now (never negative).
    pub balance: i64,
    /// A balance below this is topped up to it on the first use of each UTC day.
    pub daily_allowance: i64,
    /// Start of the next UTC day, when the allowance applies again (RFC 3339).
    pub next_allowance_at: String,
    /// Last change of the balance (RFC 3339); absent if it never changed.
    #[oai(skip_serializing_if_is_none)]
    pub updated_at: Option<String>,
}

mirror! {
    /// Kind of a ledger entry: `daily_grant` (the daily allowance top-up), `grant` (credited
    /// by an administrator), `spend` (a computed simulation was charged), `release` (a charge
    /// returned because its request never finished), `refund` (a charge returned because its
    /// request failed).
    enum EntryKind from ledger::EntryKind { DailyGrant, Grant, Spend, Release, Refund }
}

/// One balance change. The balance always equals the sum of the entries' amounts.
#[derive(Debug, Object)]
pub struct LedgerEntry {
    pub id: String,
    pub kind: EntryKind,
    /// Signed change of the balance.
    pub amount: i64,
    pub balance_after: i64,
    pub reason: String,
    /// The request that caused the change (empty for the daily allowance).
    pub request_id: String,
    /// RFC 3339.
    pub at: String,
}

/// A page of the ledger, newest first.
#[derive(Debug, Object)]
#[oai(example)]
pub struct LedgerPage {
    pub actor_id: String,
    pub entries: Vec<LedgerEntry>,
    /// Pass as `cursor` to get the next (older) page; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
}

impl Example for Balance {
    fn example() -> Self {
        Self {
            actor_id: "alice".into(),
            balance: 4,
            daily_allowance: 5,
            next_allowance_at: "2026-01-02T00:00:00.000Z".into(),
            updated_at: Some("2026-01-01T12:00:00.000Z".into()),
        }
    }
}

impl Example for LedgerPage {
    fn example() -> Self {
        Self {
            actor_id: "alice".into(),
            entries: vec![
                LedgerEntry {
                    id: "1767268800000-0".into(),
                    kind: EntryKind::Spend,
                    amount: -1,
                    balance_after: 4,
                    reason: "simulation".into(),
                    request_id: "6f1c8a52-3f0e-4c1d-9a7b-2d4e5f607182".into(),
                    at: "2026-01-01T12:00:00.000Z".into(),
                },
                LedgerEntry {
                    id: "1767261600000-0".into(),
                    kind: EntryKind::DailyGrant,
                    amount: 5,
                    balance_after: 5,
                    reason: "daily allowance".into(),
                    request_id: String::new(),
                    at: "2026-01-01T10:00:00.000Z".into(),
                },
            ],
            next_cursor: None,
        }
    }
}

fn entry(stored: StoredEntry) -> LedgerEntry {
    LedgerEntry {
        id: stored.id,
        kind: stored.kind.into(),
        amount: stored.amount,
        balance_after: stored.balance_after,
        reason: stored.reason,
        request_id: stored.request_id,
        at: rfc3339_ms(stored.at_ms),
    }
}

/// Cursors are opaque to clients: the hex of the last entry id they saw.
fn encode_cursor(id: &str) -> String {
    hex::encode(id)
}

fn decode_cursor<const D: u32>(cursor: &str) -> Result<String, ApiError<D>> {
    let invalid = || ApiError::invalid("cursor: not a cursor returned by this API");
    let bytes = hex::decode(cursor).map_err(|_| invalid())?;
    let id = String::from_utf8(bytes).map_err(|_| invalid())?;
    // Both parts must be stream-id numbers (u64), as in every id the ledger hands out; the
    // id is rewritten canonically (`000-0` is `0-0`).
    let parse = |part: &str| {
        (part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse::<u64>().ok())
            .flatten()
    };
    match id.split_once('-').map(|(ms, seq)| (parse(ms), parse(seq))) {
        Some((Some(ms), Some(seq))) => Ok(format!("{ms}-{seq}")),
        _ => Err(invalid()),
    }
}

impl TokensApi {
    async fn admit(&self, req: &Request) -> Result<String, ApiError<ERRORS>> {
        let actor = auth::caller(&self.settings, &self.store, req).await?;
        let slot = Slot::Actor(actor.clone());
        admission::admit(req, &self.settings, &self.store, &slot, true, None).await?;
        Ok(actor)
    }
}

#[OpenApi(tag = "ApiTags::Tokens")]
impl TokensApi {
    /// The caller's token balance.
    ///
    /// Reading the balance also applies the daily allowance and returns the charges of
    /// requests that never finished.
    #[oai(path = "/api/balance", method = "get", operation_id = "getBalance")]
    async fn balance(
        &self,
        req: &Request,
        _auth: auth::CallerAuth,
    ) -> Result<Json<Balance>, ApiError<ERRORS>> {
        let actor = self.admit(req).await?;
        let account = self.store.account(&actor, None).await?;
        let next_day = (account.now_ms / DAY_MS + 1) * DAY_MS;
        Ok(Json(Balance {
            actor_id: actor,
            balance: account.balance,
            daily_allowance: self.settings.daily_tokens,
            next_allowance_at: rfc3339_ms(next_day),
            updated_at: (account.updated_ms > 0).then(|| rfc3339_ms(account.updated_ms)),
        }))
    }

    /// The caller's ledger entries, newest first.
    #[oai(path = "/api/ledger", method = "get", operation_id = "listLedger")]
    async fn ledger(
        &self,
        req: &Request,
        _auth: auth::CallerAuth,
        /// Entries per page, 1–100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        #[oai(validator(pattern = r"^(3[0-9]){1,19}2[dD](3[0-9]){1,19}$"))]
        cursor: Query<Option<String>>,
    ) -> Result<Json<LedgerPage>, ApiError<LEDGER_ERRORS>> {
        let cursor = cursor.0.as_deref().map(decode_cursor).transpose()?;
        let actor = self.admit(req).await.map_err(ApiError::recast)?;
        let limit = limit.0.unwrap_or(20);
        let page = Page {
            limit,
            cursor: cursor.as_deref(),
        };
        let account = self.store.account(&actor, Some(page)).await?;
        let next_cursor = account
            .has_more
            .then(|| account.entries.last().map(|e| encode_cursor(&e.id)))
            .flatten();
        Ok(Json(LedgerPage {
            actor_id: actor,
            entries: account.entries.into_iter().map(entry).collect(),
            next_cursor,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_forgeries() {
        let cursor = encode_cursor("1732560000000-3");
        assert_eq!(decode_cursor::<0>(&cursor).unwrap(), "1732560000000-3");
        assert!(decode_cursor::<0>("zz").is_err());
        assert!(decode_cursor::<0>(&hex::encode("1-2-3")).is_err());
        assert!(decode_cursor::<0>(&hex::encode("+")).is_err());
        assert!(decode_cursor::<0>(&hex::encode("99999999999999999999-0")).is_err());
        assert_eq!(decode_cursor::<0>(&hex::encode("000-0")).unwrap(), "0-0");
    }
}
