//! After a failover run: what the surviving Redis holds, compared with what the clients were
//! told. Read straight from Redis (the ledger stream, the account hash), not through the
//! service, so nothing is brought up to date on the way.

use std::collections::{BTreeMap, HashMap};

use redis::aio::ConnectionLike;
use trickster_oracle::store::Keys;

use super::load::{Acknowledged, Log};

/// One ledger entry.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: String,
    pub kind: String,
    pub amount: i64,
    pub request_id: String,
}

/// An actor's account as Redis holds it.
#[derive(Debug, Default)]
pub struct Account {
    pub balance: i64,
    pub entries: Vec<Entry>,
}

pub async fn read_accounts(
    conn: &mut (impl ConnectionLike + Send),
    keys: &Keys,
    actors: impl Iterator<Item = String>,
) -> BTreeMap<String, Account> {
    let mut accounts = BTreeMap::new();
    for actor in actors {
        let balance: Option<i64> = redis::cmd("HGET")
            .arg(keys.account(&actor))
            .arg("balance")
            .query_async(conn)
            .await
            .expect("read the balance");
        let raw: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
            .arg(keys.ledger(&actor))
            .arg("-")
            .arg("+")
            .query_async(conn)
            .await
            .expect("read the ledger");
        let entries = raw
            .into_iter()
            .map(|(id, fields)| {
                let fields: HashMap<String, String> = fields.into_iter().collect();
                Entry {
                    id,
                    kind: fields["kind"].clone(),
                    amount: fields["amount"].parse().expect("an integer amount"),
                    request_id: fields["request_id"].clone(),
                }
            })
            .collect();
        accounts.insert(
            actor,
            Account {
                balance: balance.unwrap_or(0),
                entries,
            },
        );
    }
    accounts
}

/// What the audit found; every list should be empty.
#[derive(Debug, Default)]
pub struct Findings {
    pub acknowledged_charges: usize,
    pub acknowledged_grants: usize,
    /// Acknowledged charges the ledger lacks, or shows refunded or released.
    pub lost_charges: Vec<String>,
    /// Acknowledged grants the ledger lacks.
    pub lost_grants: Vec<String>,
    /// Actors whose entries do not sum to their balance.
    pub unbalanced: Vec<String>,
    /// Idempotency keys charged by more than one execution.
    pub executed_twice: Vec<String>,
}

/// The key an execution belongs to: request ids are `<key>.<attempt>`.
fn key_of(request_id: &str) -> Option<&str> {
    request_id.rsplit_once('.').map(|(key, _)| key)
}

pub fn audit(log: &Log, accounts: &BTreeMap<String, Account>) -> Findings {
    let mut findings = Findings::default();
    // Net charge per execution: a spend, less what was refunded or released.
    let mut charged: HashMap<&str, i64> = HashMap::new();
    for account in accounts.values() {
        for entry in &account.entries {
            if matches!(entry.kind.as_str(), "spend" | "refund" | "release") {
                *charged.entry(entry.request_id.as_str()).or_default() -= entry.amount;
            }
        }
    }
    for acknowledged in &log.acknowledged {
        match acknowledged {
            Acknowledged::Charge {
                actor,
                key,
                request_id,
            } => {
                findings.acknowledged_charges += 1;
                if charged.get(request_id.as_str()).copied().unwrap_or(0) <= 0 {
                    findings
                        .lost_charges
                        .push(format!("{actor}: {key} ({request_id})"));
                }
            }
            Acknowledged::Grant { actor, entry_id } => {
                findings.acknowledged_grants += 1;
                let found = accounts.get(actor).is_some_and(|a| {
                    a.entries
                        .iter()
                        .any(|e| &e.id == entry_id && e.kind == "grant")
                });
                if !found {
                    findings.lost_grants.push(format!("{actor}: {entry_id}"));
                }
            }
        }
    }
    let mut executions: HashMap<&str, usize> = HashMap::new();
    for (request_id, net) in &charged {
        if *net > 0
            && let Some(key) = key_of(request_id)
        {
            *executions.entry(key).or_default() += 1;
        }
    }
    findings.executed_twice = executions
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(key, n)| format!("{key}: {n} executions charged"))
        .collect();
    for (actor, account) in accounts {
        let sum: i64 = account.entries.iter().map(|e| e.amount).sum();
        if sum != account.balance {
            findings.unbalanced.push(format!(
                "{actor}: entries sum to {sum}, balance {}",
                account.balance
            ));
        }
    }
    findings
}
