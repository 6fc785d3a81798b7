//! A Sentinel group: one primary, `replicas` replicas of it and three Sentinels watching it
//! (quorum 2), as redis-server processes on free loopback ports. The primary can be killed
//! to prove what happens when the Sentinels promote a replica.

use std::{path::PathBuf, time::Duration};

use crate::{
    Error, Result,
    link::DelayedLink,
    net::poll,
    redis::{Redis, RedisSpec, Role},
    resp::{Reply, info_field},
    workdir::WorkDir,
};

/// The name the Sentinels know the primary by (`REDIS_SENTINEL_MASTER`).
pub const MASTER_NAME: &str = "trickster";

const SENTINELS: usize = 3;
const QUORUM: u32 = 2;

#[derive(Clone, Debug)]
pub struct SentinelSpec {
    pub replicas: usize,
    pub password: Option<String>,
    /// How long the primary may be unreachable before the Sentinels act.
    pub down_after: Duration,
    pub keep_logs: bool,
    pub parent_dir: Option<PathBuf>,
    /// Bound on each wait (servers ready, Sentinels agreed, failover).
    pub ready_timeout: Duration,
    /// Replicas receive the primary's stream this late, through a [`DelayedLink`] that
    /// [`SentinelGroup::kill_primary`] cuts along with the primary: what it still holds is
    /// lost, as when a primary's host dies. `None`: replicas connect directly.
    pub replication_delay: Option<Duration>,
}

impl SentinelSpec {
    pub fn new(replicas: usize) -> Self {
        Self {
            replicas,
            password: None,
            down_after: Duration::from_millis(1000),
            keep_logs: false,
            parent_dir: None,
            ready_timeout: Duration::from_secs(60),
            replication_delay: None,
        }
    }
}

pub struct SentinelGroup {
    spec: SentinelSpec,
    /// The first is the primary the group started with.
    servers: Vec<Redis>,
    sentinels: Vec<Redis>,
    /// The delayed links of the replicas, with the port of the primary each leads to.
    links: Vec<(u16, DelayedLink)>,
    _dir: WorkDir,
}

impl SentinelGroup {
    pub fn start(spec: &SentinelSpec) -> Result<Self> {
        let dir = WorkDir::create(spec.parent_dir.as_deref(), "redis-sentinel", spec.keep_logs)?;
        let mut base = RedisSpec::new()
            .keep_logs(spec.keep_logs)
            .in_dir(dir.path())
            .ready_timeout(spec.ready_timeout);
        base.password = spec.password.clone();
        let primary = Redis::start_process(&base)?;
        let primary_port = primary.port();
        let mut servers = vec![primary];
        let mut links = Vec::new();
        for _ in 0..spec.replicas {
            let upstream = match spec.replication_delay {
                Some(delay) => {
                    let link = DelayedLink::start(primary_port, delay)?;
                    let port = link.port();
                    links.push((primary_port, link));
                    port
                }
                None => primary_port,
            };
            servers.push(Redis::start_process(&base.clone().role(Role::Replica {
                primary_port: upstream,
            }))?);
        }
        let sentinel_spec = base.clone().role(Role::Sentinel {
            master: MASTER_NAME.to_owned(),
            primary_port,
            quorum: QUORUM,
            down_after_ms: spec.down_after.as_millis() as u64,
            failover_timeout_ms: 10_000,
        });
        let sentinels = (0..SENTINELS)
            .map(|_| Redis::start_process(&sentinel_spec))
            .collect::<Result<Vec<_>>>()?;
        let group = Self {
            spec: spec.clone(),
            servers,
            sentinels,
            links,
            _dir: dir,
        };
        group.wait_until_watched()?;
        Ok(group)
    }

    /// The Sentinels as `redis://127.0.0.1:<port>` (`REDIS_SENTINEL_URLS`).
    pub fn sentinel_urls(&self) -> Vec<String> {
        self.sentinels.iter().map(Redis::url).collect()
    }

    /// The primary and the replicas; the first is the primary the group started with.
    pub fn servers(&self) -> &[Redis] {
        &self.servers
    }

    pub fn servers_mut(&mut self) -> &mut [Redis] {
        &mut self.servers
    }

    pub fn sentinels(&self) -> &[Redis] {
        &self.sentinels
    }

    /// The port of the primary according to the first Sentinel that answers.
    pub fn primary_port(&self) -> Result<u16> {
        for sentinel in &self.sentinels {
            let Ok(mut conn) = sentinel.connect() else {
                continue;
            };
            if let Ok(Reply::Array(Some(address))) =
                conn.command(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME])
                && let Some(port) = address.get(1).and_then(Reply::text)
            {
                return port
                    .parse()
                    .map_err(|_| Error::new(format!("bad port from Sentinel: {port}")));
            }
        }
        Err(Error::new("no Sentinel answers"))
    }

    /// Kills (SIGKILL) the current primary, and cuts the delayed links leading to it;
    /// returns its index in [`servers`](Self::servers).
    pub fn kill_primary(&mut self) -> Result<usize> {
        let port = self.primary_port()?;
        let index = self
            .servers
            .iter()
            .position(|s| s.port() == port)
            .ok_or_else(|| Error::new(format!("the primary on port {port} is not ours")))?;
        self.servers[index].kill();
        for (_, link) in self.links.iter().filter(|(target, _)| *target == port) {
            link.cut();
        }
        Ok(index)
    }

    /// Starts server `index` (killed earlier) again as a replica of the current primary, with
    /// an empty data set, as a supervisor restarting a crashed node would; returns once it is
    /// in sync. Started as it was, a primary without persistence would come back empty and
    /// still a primary until the Sentinels demote it.
    pub fn rejoin(&mut self, index: usize) -> Result<()> {
        let primary_port = self.primary_port()?;
        let server = self
            .servers
            .get_mut(index)
            .ok_or_else(|| Error::new(format!("there is no server {index}")))?;
        server.restart_as(Role::Replica { primary_port })?;
        let timeout = self.spec.ready_timeout;
        let server = &self.servers[index];
        poll(timeout, Duration::from_millis(100), || {
            let info = server.connect().ok()?.text(&["INFO", "replication"]).ok()?;
            (info_field(&info, "master_link_status").as_deref() == Some("up")).then_some(())
        })
        .ok_or_else(|| {
            Error::new(format!(
                "server {index} did not sync with the primary within {timeout:?}"
            ))
        })
    }

    /// Waits until the Sentinels name a primary other than `old_port` and it answers as
    /// a primary.
    pub fn wait_for_failover(&self, old_port: u16) -> Result<u16> {
        let timeout = self.spec.ready_timeout;
        poll(timeout, Duration::from_millis(100), || {
            let port = self.primary_port().ok().filter(|&p| p != old_port)?;
            let server = self.servers.iter().find(|s| s.port() == port)?;
            let role = server.connect().ok()?.text(&["INFO", "replication"]).ok()?;
            (info_field(&role, "role").as_deref() == Some("master")).then_some(port)
        })
        .ok_or_else(|| Error::new(format!("no failover within {timeout:?}")))
    }

    /// Waits until the replicas are in sync and every Sentinel knows the replicas and the
    /// two other Sentinels.
    fn wait_until_watched(&self) -> Result<()> {
        let timeout = self.spec.ready_timeout;
        let count = |reply: std::io::Result<Reply>| match reply {
            Ok(Reply::Array(Some(items))) => items.len(),
            _ => 0,
        };
        poll(timeout, Duration::from_millis(100), || {
            let replicas_in_sync = self.servers[1..].iter().all(|replica| {
                replica
                    .connect()
                    .and_then(|mut c| c.text(&["INFO", "replication"]))
                    .is_ok_and(|info| {
                        info_field(&info, "master_link_status").as_deref() == Some("up")
                    })
            });
            let sentinels_agree = self.sentinels.iter().all(|sentinel| {
                let Ok(mut conn) = sentinel.connect() else {
                    return false;
                };
                count(conn.command(&["SENTINEL", "REPLICAS", MASTER_NAME])) == self.spec.replicas
                    && count(conn.command(&["SENTINEL", "SENTINELS", MASTER_NAME])) == SENTINELS - 1
            });
            (replicas_in_sync && sentinels_agree).then_some(())
        })
        .ok_or_else(|| {
            Error::new(format!(
                "the Sentinels did not agree on the group within {timeout:?}"
            ))
        })
    }
}
