//! Everything `localstack up` starts: one Redis of any kind (or none) and groups of service
//! instances wired to it, plus the sourceable environment file that tells scripts where
//! everything is.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use crate::{
    Error, Result,
    cluster::{ClusterSpec, RedisCluster},
    redis::{Redis, RedisSpec},
    sentinel::{self, SentinelGroup, SentinelSpec},
    service::{Service, ServiceSpec},
    workdir::WorkDir,
};

/// Which Redis the stack runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RedisKind {
    /// No Redis: the instances get `REDIS_URL` from the caller's `--env`.
    None,
    /// One `redis-server` process.
    Process,
    /// One container of the given image.
    Container {
        image: String,
    },
    Cluster {
        primaries: usize,
        replicas: usize,
    },
    Sentinel {
        replicas: usize,
    },
}

/// A named group of identical instances (`load-bench.sh` runs two differently configured
/// groups on one Redis).
#[derive(Clone, Debug)]
pub struct GroupSpec {
    pub name: String,
    pub instances: usize,
    pub env: Vec<(String, String)>,
}

#[derive(Clone, Debug)]
pub struct StackSpec {
    pub redis: RedisKind,
    pub password: Option<String>,
    pub tls: bool,
    pub append_only: bool,
    pub service_bin: Option<PathBuf>,
    /// Environment of every instance (after the Redis settings, before the group's).
    pub env: Vec<(String, String)>,
    pub groups: Vec<GroupSpec>,
    pub keep_logs: bool,
    pub ready_timeout: Duration,
}

enum RunningRedis {
    None,
    Single(Redis),
    Cluster(RedisCluster),
    Sentinel(SentinelGroup),
}

pub struct Stack {
    // Dropped in declaration order: instances first, then Redis, then the directory.
    services: Vec<(usize, Service)>,
    redis: RunningRedis,
    spec: StackSpec,
    root: WorkDir,
}

impl Stack {
    pub fn start(spec: &StackSpec) -> Result<Self> {
        let root = WorkDir::create(None, "stack", spec.keep_logs)?;
        let mut stack = Self {
            services: Vec::new(),
            redis: RunningRedis::None,
            spec: spec.clone(),
            root,
        };
        stack.redis = stack.start_redis()?;
        let redis_env = stack.redis_env();
        for (group_index, group) in spec.groups.iter().enumerate() {
            if group.instances == 0 {
                continue;
            }
            let binary = spec
                .service_bin
                .clone()
                .ok_or_else(|| Error::new("instances need --service-bin <path>"))?;
            for n in 1..=group.instances {
                let mut service = ServiceSpec::new(&binary)
                    .envs(redis_env.iter().cloned())
                    .envs(spec.env.iter().cloned())
                    .envs(group.env.iter().cloned());
                service.name = format!("{}-{n}", group.name);
                service.ready_timeout = spec.ready_timeout;
                service.keep_logs = spec.keep_logs;
                service.parent_dir = Some(stack.root.path().to_path_buf());
                let started = Service::start(&service)?;
                eprintln!(
                    "localstack: {} (pid {}) ready at {}",
                    started.name(),
                    started.pid(),
                    started.base_url()
                );
                stack.services.push((group_index, started));
            }
        }
        Ok(stack)
    }

    fn start_redis(&self) -> Result<RunningRedis> {
        let spec = &self.spec;
        let mut redis_spec = RedisSpec::new()
            .keep_logs(spec.keep_logs)
            .in_dir(self.root.path())
            .ready_timeout(spec.ready_timeout);
        redis_spec.password = spec.password.clone();
        redis_spec.tls = spec.tls;
        redis_spec.append_only = spec.append_only;
        let modifiers = spec.password.is_some() || spec.tls || spec.append_only;
        let running = match &spec.redis {
            RedisKind::None => RunningRedis::None,
            RedisKind::Process => RunningRedis::Single(Redis::start_process(&redis_spec)?),
            RedisKind::Container { image } => {
                RunningRedis::Single(Redis::start_container(&redis_spec, image)?)
            }
            RedisKind::Cluster { .. } | RedisKind::Sentinel { .. }
                if spec.tls || spec.append_only =>
            {
                return Err(Error::new(
                    "--tls and --aof apply to a single Redis (process or container)",
                ));
            }
            RedisKind::Cluster {
                primaries,
                replicas,
            } => {
                if modifiers {
                    return Err(Error::new("a cluster takes no --password here"));
                }
                let mut cluster = ClusterSpec::new(*primaries, *replicas);
                cluster.keep_logs = spec.keep_logs;
                cluster.parent_dir = Some(self.root.path().to_path_buf());
                cluster.ready_timeout = spec.ready_timeout.max(Duration::from_secs(60));
                RunningRedis::Cluster(RedisCluster::start(&cluster)?)
            }
            RedisKind::Sentinel { replicas } => {
                let mut group = SentinelSpec::new(*replicas);
                group.password = spec.password.clone();
                group.keep_logs = spec.keep_logs;
                group.parent_dir = Some(self.root.path().to_path_buf());
                group.ready_timeout = spec.ready_timeout.max(Duration::from_secs(60));
                RunningRedis::Sentinel(SentinelGroup::start(&group)?)
            }
        };
        match &running {
            RunningRedis::None => {}
            RunningRedis::Single(redis) => {
                eprintln!("localstack: Redis ready at {}", redis.url());
            }
            RunningRedis::Cluster(cluster) => {
                eprintln!(
                    "localstack: Redis Cluster ready: {}",
                    cluster.urls().join(",")
                );
            }
            RunningRedis::Sentinel(group) => eprintln!(
                "localstack: Sentinels ready: {} (master {})",
                group.sentinel_urls().join(","),
                sentinel::MASTER_NAME
            ),
        }
        Ok(running)
    }

    /// The service's settings that point it at this stack's Redis.
    pub fn redis_env(&self) -> Vec<(String, String)> {
        let mut env = Vec::new();
        let mut set = |k: &str, v: String| env.push((k.to_owned(), v));
        match &self.redis {
            RunningRedis::None => {}
            RunningRedis::Single(redis) => {
                set("REDIS_URL", redis.url());
                if let Some(ca) = redis.ca_file() {
                    set("REDIS_TLS_CA_FILE", ca.display().to_string());
                }
            }
            RunningRedis::Cluster(cluster) => set("REDIS_CLUSTER_URLS", cluster.urls().join(",")),
            RunningRedis::Sentinel(group) => {
                set("REDIS_SENTINEL_URLS", group.sentinel_urls().join(","));
                set("REDIS_SENTINEL_MASTER", sentinel::MASTER_NAME.to_owned());
            }
        }
        env
    }

    /// What the environment file says: where everything is, and how to find its logs.
    pub fn env_vars(&mut self) -> Vec<(String, String)> {
        let mut vars = vec![
            ("LOCALSTACK_PID".to_owned(), std::process::id().to_string()),
            (
                "LOCALSTACK_DIR".to_owned(),
                self.root.path().display().to_string(),
            ),
        ];
        vars.extend(self.redis_env());
        let mut set = |k: &str, v: String| vars.push((k.to_owned(), v));
        match &mut self.redis {
            RunningRedis::None => {}
            RunningRedis::Single(redis) => {
                set("REDIS_PORT", redis.port().to_string());
                set("REDIS_PORTS", redis.port().to_string());
                if let Some(pid) = redis.pid() {
                    set("REDIS_PID", pid.to_string());
                    set("REDIS_PIDS", pid.to_string());
                }
                if let Some(name) = redis.container() {
                    set("REDIS_CONTAINER", name.to_owned());
                }
                if let Some(log) = redis.log_path() {
                    set("REDIS_LOG", log.display().to_string());
                }
            }
            RunningRedis::Cluster(cluster) => {
                let ports: Vec<String> = cluster
                    .nodes()
                    .iter()
                    .map(|n| n.port().to_string())
                    .collect();
                let pids: Vec<String> = cluster
                    .nodes_mut()
                    .iter_mut()
                    .filter_map(|n| n.pid().map(|p| p.to_string()))
                    .collect();
                set("REDIS_PORTS", ports.join(" "));
                set("REDIS_PIDS", pids.join(" "));
            }
            RunningRedis::Sentinel(group) => {
                let primary = &group.servers()[0];
                set("REDIS_URL", primary.url());
                set("REDIS_PORT", primary.port().to_string());
                let ports: Vec<String> = group
                    .servers()
                    .iter()
                    .map(|n| n.port().to_string())
                    .collect();
                set("REDIS_PORTS", ports.join(" "));
                let mut pids: Vec<String> = Vec::new();
                for server in group.servers_mut() {
                    pids.extend(server.pid().map(|p| p.to_string()));
                }
                set("REDIS_PIDS", pids.join(" "));
            }
        }
        let all: Vec<&Service> = self.services.iter().map(|(_, s)| s).collect();
        let joined = |services: &[&Service], f: &dyn Fn(&Service) -> String, sep: &str| {
            services.iter().map(|s| f(s)).collect::<Vec<_>>().join(sep)
        };
        if let Some(first) = all.first() {
            vars.push(("BASE_URL".to_owned(), first.base_url()));
        }
        vars.push((
            "INSTANCE_URLS".to_owned(),
            joined(&all, &|s| s.base_url(), ","),
        ));
        vars.push((
            "SERVICE_PORTS".to_owned(),
            joined(&all, &|s| s.port().to_string(), " "),
        ));
        vars.push((
            "SERVICE_PIDS".to_owned(),
            joined(&all, &|s| s.pid().to_string(), " "),
        ));
        vars.push((
            "SERVICE_LOGS".to_owned(),
            joined(&all, &|s| s.log_path().display().to_string(), " "),
        ));
        for (index, group) in self.spec.groups.iter().enumerate() {
            let members: Vec<&Service> = self
                .services
                .iter()
                .filter(|(g, _)| *g == index)
                .map(|(_, s)| s)
                .collect();
            let Some(first) = members.first() else {
                continue;
            };
            let name = env_name(&group.name);
            vars.push((format!("{name}_BASE_URL"), first.base_url()));
            vars.push((
                format!("{name}_INSTANCE_URLS"),
                joined(&members, &|s| s.base_url(), ","),
            ));
            vars.push((
                format!("{name}_PORTS"),
                joined(&members, &|s| s.port().to_string(), " "),
            ));
            vars.push((
                format!("{name}_PIDS"),
                joined(&members, &|s| s.pid().to_string(), " "),
            ));
            vars.push((
                format!("{name}_LOGS"),
                joined(&members, &|s| s.log_path().display().to_string(), " "),
            ));
        }
        vars
    }

    /// Writes `KEY='value'` lines; the file appears complete or not at all.
    pub fn write_env_file(&mut self, path: &Path) -> Result<()> {
        let mut text = String::from("# Written by `localstack up`; valid while it runs.\n");
        for (key, value) in self.env_vars() {
            text.push_str(&format!("{key}={}\n", shell_quote(&value)));
        }
        let partial = path.with_extension("partial");
        std::fs::write(&partial, text)
            .and_then(|()| std::fs::rename(&partial, path))
            .map_err(|e| Error::new(format!("cannot write {}: {e}", path.display())))
    }

    /// An error naming the first process that has ended although nobody stopped it.
    pub fn check(&mut self) -> Result<()> {
        for (_, service) in &mut self.services {
            if let Some(status) = service.exit_status() {
                return Err(Error::new(format!(
                    "{} exited ({status}); last lines of {}:\n{}",
                    service.name(),
                    service.log_path().display(),
                    crate::redis::log_tail(&service.log_path())
                )));
            }
        }
        let redis: Vec<&mut Redis> = match &mut self.redis {
            RunningRedis::None => Vec::new(),
            RunningRedis::Single(redis) => vec![redis],
            RunningRedis::Cluster(cluster) => cluster.nodes_mut().iter_mut().collect(),
            RunningRedis::Sentinel(_) => Vec::new(),
        };
        for node in redis {
            if !node.is_running() {
                return Err(Error::new(format!(
                    "Redis on port {} has stopped; last log lines:\n{}",
                    node.port(),
                    crate::workdir::last_lines(&node.log(), 20)
                )));
            }
        }
        Ok(())
    }

    /// Stops the instances (SIGTERM, they drain), then Redis.
    pub fn stop(&mut self) {
        for (_, mut service) in self.services.drain(..) {
            service.stop();
        }
        self.redis = RunningRedis::None;
    }

    pub fn dir(&self) -> &Path {
        self.root.path()
    }
}

/// `main` → `MAIN`, `read-only` → `READ_ONLY`.
fn env_name(group: &str) -> String {
    group
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Single quotes for POSIX shells: `it's` → `'it'\''s'`.
pub fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_survive_shell_quoting() {
        for value in ["plain", "", "it's", "a b\tc", "$HOME `x` \"q\" \\"] {
            let output = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {}", shell_quote(value)))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(output.stdout).unwrap(), value);
        }
    }

    #[test]
    fn group_names_become_variable_names() {
        assert_eq!(env_name("main"), "MAIN");
        assert_eq!(env_name("read-only 2"), "READ_ONLY_2");
    }
}
