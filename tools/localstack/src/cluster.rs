//! A Redis Cluster of `primaries` primaries with `replicas` replicas each, as redis-server
//! processes on free loopback ports, formed with `redis-cli --cluster create`. A primary can
//! be killed later to prove what happens on failover.

use std::{
    path::PathBuf,
    process::{Command, Stdio},
    time::Duration,
};

use crate::{
    Error, Result,
    net::poll,
    redis::{Redis, RedisSpec, Role},
    resp::info_field,
    workdir::WorkDir,
};

/// The shape of the cluster.
#[derive(Clone, Debug)]
pub struct ClusterSpec {
    pub primaries: usize,
    /// Replicas of each primary.
    pub replicas: usize,
    /// How long a node may be unreachable before it counts as failed (and a replica takes
    /// over). Redis's default is 15 s; a local cluster reacts faster.
    pub node_timeout: Duration,
    pub keep_logs: bool,
    pub parent_dir: Option<PathBuf>,
    /// Bound on each wait (nodes ready, cluster formed, failover).
    pub ready_timeout: Duration,
}

impl ClusterSpec {
    pub fn new(primaries: usize, replicas: usize) -> Self {
        Self {
            primaries,
            replicas,
            node_timeout: Duration::from_millis(2000),
            keep_logs: false,
            parent_dir: None,
            ready_timeout: Duration::from_secs(60),
        }
    }
}

pub struct RedisCluster {
    spec: ClusterSpec,
    nodes: Vec<Redis>,
    /// Cluster node id of each node, in the order of `nodes`.
    ids: Vec<String>,
    // Declared last: removed after the nodes have stopped.
    _dir: WorkDir,
}

impl RedisCluster {
    pub fn start(spec: &ClusterSpec) -> Result<Self> {
        if spec.primaries < 3 {
            return Err(Error::new("a Redis Cluster needs at least 3 primaries"));
        }
        let dir = WorkDir::create(spec.parent_dir.as_deref(), "redis-cluster", spec.keep_logs)?;
        let node_spec = RedisSpec::new()
            .keep_logs(spec.keep_logs)
            .in_dir(dir.path())
            .ready_timeout(spec.ready_timeout)
            .role(Role::ClusterNode {
                node_timeout_ms: spec.node_timeout.as_millis() as u64,
            });
        let total = spec.primaries * (1 + spec.replicas);
        let nodes = (0..total)
            .map(|_| Redis::start_process(&node_spec))
            .collect::<Result<Vec<_>>>()?;

        let mut create = Command::new(std::env::var_os("REDIS_CLI").unwrap_or("redis-cli".into()));
        create.arg("--cluster").arg("create");
        for node in &nodes {
            create.arg(format!("127.0.0.1:{}", node.port()));
        }
        create
            .args([
                "--cluster-replicas",
                &spec.replicas.to_string(),
                "--cluster-yes",
            ])
            .stdin(Stdio::null());
        let output = create.output().map_err(|e| {
            Error::new(format!(
                "cannot run redis-cli (Debian: apt-get install redis-tools, or set REDIS_CLI): {e}"
            ))
        })?;
        if !output.status.success() {
            return Err(Error::new(format!(
                "redis-cli --cluster create failed:\n{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )));
        }
        let ids = nodes
            .iter()
            .map(|n| Ok(n.connect()?.text(&["CLUSTER", "MYID"])?))
            .collect::<Result<Vec<_>>>()?;
        let cluster = Self {
            spec: spec.clone(),
            nodes,
            ids,
            _dir: dir,
        };
        cluster.wait_until_formed()?;
        Ok(cluster)
    }

    /// Every node, primaries and replicas, as `redis://127.0.0.1:<port>`.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(Redis::url).collect()
    }

    pub fn nodes(&self) -> &[Redis] {
        &self.nodes
    }

    pub fn nodes_mut(&mut self) -> &mut [Redis] {
        &mut self.nodes
    }

    /// Indexes (into [`nodes`](Self::nodes)) of the nodes that are primaries now, by port.
    pub fn primaries(&mut self) -> Result<Vec<usize>> {
        let view = self.cluster_nodes()?;
        let mut primaries: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| {
                view.lines().any(|line| {
                    let fields: Vec<&str> = line.split_whitespace().collect();
                    fields.first() == Some(&self.ids[i].as_str())
                        && fields.get(2).is_some_and(|flags| {
                            flags.split(',').any(|f| f == "master")
                                && !flags.split(',').any(|f| f == "fail")
                        })
                })
            })
            .collect();
        primaries.sort_by_key(|&i| self.nodes[i].port());
        Ok(primaries)
    }

    /// Kills (SIGKILL) the `n`-th current primary and returns its index in
    /// [`nodes`](Self::nodes). With replicas, [`wait_for_failover`](Self::wait_for_failover)
    /// then waits until one of them has taken over.
    pub fn kill_primary(&mut self, n: usize) -> Result<usize> {
        let primaries = self.primaries()?;
        let index = *primaries.get(n).ok_or_else(|| {
            Error::new(format!("there are {} primaries, no {n}", primaries.len()))
        })?;
        self.nodes[index].kill();
        Ok(index)
    }

    /// Waits until the surviving nodes mark node `killed` as failed and report
    /// `cluster_state:ok` again (a replica was promoted). Without replicas this cannot
    /// happen and the wait ends in an error.
    pub fn wait_for_failover(&mut self, killed: usize) -> Result<()> {
        let id = self.ids[killed].clone();
        let timeout = self.spec.ready_timeout;
        let done = poll(timeout, Duration::from_millis(100), || {
            let marked_failed = self.cluster_nodes().ok()?.lines().any(|line| {
                line.starts_with(&id)
                    && line
                        .split_whitespace()
                        .nth(2)
                        .is_some_and(|flags| flags.split(',').any(|f| f == "fail"))
            });
            (marked_failed && self.all_live_nodes_ok()).then_some(())
        });
        done.ok_or_else(|| {
            Error::new(format!(
                "no failover within {timeout:?} after node {killed} was killed ({} replicas per primary)",
                self.spec.replicas
            ))
        })
    }

    /// Starts node `index` (killed earlier) again with its cluster configuration and an empty
    /// data set, as a supervisor restarting a crashed node would: it finds its slots taken
    /// over and joins as a replica of the node that took them. Returns once every node reports
    /// the cluster whole and every replica is in sync.
    pub fn rejoin(&mut self, index: usize) -> Result<()> {
        self.nodes
            .get_mut(index)
            .ok_or_else(|| Error::new(format!("there is no node {index}")))?
            .restart()?;
        self.wait_until_formed()
    }

    /// Waits until every running node reports `cluster_state:ok` with all slots assigned, all
    /// nodes known and as many primaries as intended, and every replica is in sync with its
    /// primary.
    pub fn wait_until_formed(&self) -> Result<()> {
        let total = self.nodes.len().to_string();
        let timeout = self.spec.ready_timeout;
        let formed = poll(timeout, Duration::from_millis(100), || {
            let all = self.nodes.iter().all(|node| {
                let Ok(mut conn) = node.connect() else {
                    return false;
                };
                let Ok(info) = conn.text(&["CLUSTER", "INFO"]) else {
                    return false;
                };
                let field = |name| info_field(&info, name);
                let in_sync = conn
                    .text(&["INFO", "replication"])
                    .is_ok_and(|replication| {
                        info_field(&replication, "role").as_deref() != Some("slave")
                            || info_field(&replication, "master_link_status").as_deref()
                                == Some("up")
                    });
                // Every node sees the intended primaries, and no replica still as a primary
                // (a replica's role travels by gossip: one node may learn it late).
                let primaries = conn.text(&["CLUSTER", "NODES"]).is_ok_and(|view| {
                    let masters = view
                        .lines()
                        .filter(|line| {
                            line.split_whitespace()
                                .nth(2)
                                .is_some_and(|flags| flags.split(',').any(|f| f == "master"))
                        })
                        .count();
                    masters == self.spec.primaries
                });
                field("cluster_state").as_deref() == Some("ok")
                    && field("cluster_slots_ok").as_deref() == Some("16384")
                    && field("cluster_known_nodes").as_deref() == Some(total.as_str())
                    && primaries
                    && in_sync
            });
            all.then_some(())
        });
        formed.ok_or_else(|| {
            Error::new(format!(
                "the cluster did not report cluster_state:ok on every node within {timeout:?}"
            ))
        })
    }

    fn all_live_nodes_ok(&self) -> bool {
        let live: Vec<&Redis> = self.nodes.iter().filter(|n| n.connect().is_ok()).collect();
        !live.is_empty()
            && live.iter().all(|node| {
                node.connect()
                    .and_then(|mut c| c.text(&["CLUSTER", "INFO"]))
                    .is_ok_and(|info| info_field(&info, "cluster_state").as_deref() == Some("ok"))
            })
    }

    /// CLUSTER NODES as seen by the first node that answers.
    fn cluster_nodes(&mut self) -> Result<String> {
        for node in &self.nodes {
            if let Ok(view) = node
                .connect()
                .and_then(|mut c| c.text(&["CLUSTER", "NODES"]))
            {
                return Ok(view);
            }
        }
        Err(Error::new("no cluster node answers"))
    }
}
