//! Where the shared state lives and how sure a write must be before a client hears of it:
//! one server (`REDIS_URL`), a Redis Cluster (`REDIS_CLUSTER_URLS`), or a primary that
//! Sentinels name (`REDIS_SENTINEL_URLS` + `REDIS_SENTINEL_MASTER`); and how many replicas
//! must confirm an account change (`REDIS_MIN_REPLICA_ACKS`).

use super::source::Source;

/// Where the shared state lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisTarget {
    /// One Redis server (`REDIS_URL`); `rediss://` for TLS, credentials in the URL.
    Single(String),
    /// A Redis Cluster (`REDIS_CLUSTER_URLS`, comma-separated seed nodes).
    Cluster(Vec<String>),
    /// The primary the Sentinels in `urls` name `master` (`REDIS_SENTINEL_URLS`,
    /// `REDIS_SENTINEL_MASTER`), followed across failovers. The primary and its replicas are
    /// reached with the scheme, user name, password and database of the Sentinel URLs, which
    /// must therefore agree on them.
    Sentinel { urls: Vec<String>, master: String },
}

impl RedisTarget {
    /// What the connection is, for `/ready` and logs.
    pub fn mode(&self) -> &'static str {
        match self {
            Self::Single(_) => "single",
            Self::Cluster(_) => "cluster",
            Self::Sentinel { .. } => "sentinel",
        }
    }
}

/// The Redis settings (their contradictions are checked with the others, in `checks`).
pub(super) struct RedisSettings {
    pub target: RedisTarget,
    pub min_replica_acks: u32,
    pub ack_connections: usize,
}

/// Most replicas an account change may wait for; more would only describe a misconfiguration.
const MAX_REPLICA_ACKS: u32 = 16;

pub(super) fn read<F: Fn(&str) -> Option<String>>(src: &Source<F>) -> RedisSettings {
    let cluster = src.raw("REDIS_CLUSTER_URLS");
    let sentinels = src.raw("REDIS_SENTINEL_URLS");
    let master = src.raw("REDIS_SENTINEL_MASTER");

    if let Some(name) = &master
        && name.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        src.fail(
            "REDIS_SENTINEL_MASTER",
            format!("expected a name without spaces, got {name:?}"),
        );
    }

    let target = if let Some(list) = cluster {
        RedisTarget::Cluster(url_list(src, "REDIS_CLUSTER_URLS", &list))
    } else if let Some(list) = sentinels {
        RedisTarget::Sentinel {
            urls: url_list(src, "REDIS_SENTINEL_URLS", &list),
            master: master.unwrap_or_default(),
        }
    } else {
        let url = src.string("REDIS_URL", "redis://127.0.0.1:6379");
        RedisTarget::Single(redis_url(src, "REDIS_URL", &url).unwrap_or_default())
    };

    RedisSettings {
        target,
        min_replica_acks: src.number("REDIS_MIN_REPLICA_ACKS", 0, 0, MAX_REPLICA_ACKS),
        ack_connections: src.number("REDIS_ACK_CONNECTIONS", 16, 1, 1_024),
    }
}

/// A comma-separated list of URLs, each checked; an empty list is an error.
fn url_list<F: Fn(&str) -> Option<String>>(
    src: &Source<F>,
    variable: &'static str,
    list: &str,
) -> Vec<String> {
    let urls: Vec<String> = list
        .split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .filter_map(|u| redis_url(src, variable, u))
        .collect();
    if urls.is_empty() && !list.split(',').any(|u| !u.trim().is_empty()) {
        src.fail(variable, "expected at least one URL");
    }
    urls
}

pub(super) fn redis_url<F: Fn(&str) -> Option<String>>(
    src: &Source<F>,
    variable: &'static str,
    url: &str,
) -> Option<String> {
    let valid =
        redis::parse_redis_url(url).is_some_and(|u| matches!(u.scheme(), "redis" | "rediss"));
    if !valid {
        src.fail(
            variable,
            "expected a redis:// or rediss:// URL (credentials go in the URL)",
        );
    }
    valid.then(|| url.to_owned())
}
