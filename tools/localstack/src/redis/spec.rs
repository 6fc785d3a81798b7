//! What kind of Redis to start, and how that becomes its configuration: `redis.conf` for a
//! process, command-line options for a container.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use crate::{Error, Result};

/// What kind of Redis to start.
#[derive(Clone, Debug)]
pub struct RedisSpec {
    pub password: Option<String>,
    /// Serve TLS only (a CA and a certificate for 127.0.0.1 are generated; see
    /// [`Redis::ca_file`]).
    pub tls: bool,
    /// Append-only file, fsynced on every write: a stop, a kill or a restart loses nothing.
    /// Without it nothing is persisted.
    pub append_only: bool,
    /// Keep the working directory (config, log, data) after the handle is dropped.
    pub keep_logs: bool,
    /// Where the working directory goes (default `$TMPDIR`).
    pub parent_dir: Option<PathBuf>,
    /// Bound on every wait for readiness.
    pub ready_timeout: Duration,
    pub(crate) role: Role,
}

/// What the server is besides a key-value store.
#[derive(Clone, Debug, Default)]
pub(crate) enum Role {
    #[default]
    Standalone,
    Replica {
        primary_port: u16,
    },
    ClusterNode {
        node_timeout_ms: u64,
    },
    Sentinel {
        master: String,
        primary_port: u16,
        quorum: u32,
        down_after_ms: u64,
        failover_timeout_ms: u64,
    },
}

impl Default for RedisSpec {
    fn default() -> Self {
        Self {
            password: None,
            tls: false,
            append_only: false,
            keep_logs: false,
            parent_dir: None,
            ready_timeout: Duration::from_secs(30),
            role: Role::Standalone,
        }
    }
}

impl RedisSpec {
    pub fn new() -> Self {
        Self::default()
    }

    /// Clients must authenticate (`redis://:<password>@…`).
    pub fn password(mut self, password: &str) -> Self {
        self.password = Some(password.to_owned());
        self
    }

    pub fn tls(mut self) -> Self {
        self.tls = true;
        self
    }

    pub fn append_only(mut self) -> Self {
        self.append_only = true;
        self
    }

    pub fn keep_logs(mut self, keep: bool) -> Self {
        self.keep_logs = keep;
        self
    }

    pub fn in_dir(mut self, parent: &Path) -> Self {
        self.parent_dir = Some(parent.to_path_buf());
        self
    }

    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }

    pub(crate) fn role(mut self, role: Role) -> Self {
        self.role = role;
        self
    }

    /// Settings common to processes and containers, as (directive, arguments).
    pub(super) fn settings(&self, port: u16, tls_dir: &str) -> Vec<(&'static str, Vec<String>)> {
        let mut out: Vec<(&'static str, Vec<String>)> = Vec::new();
        let mut set = |key: &'static str, values: &[&str]| {
            out.push((key, values.iter().map(|v| (*v).to_owned()).collect()));
        };
        if self.tls {
            set("port", &["0"]);
            set("tls-port", &[&port.to_string()]);
            set("tls-cert-file", &[&format!("{tls_dir}/server.crt")]);
            set("tls-key-file", &[&format!("{tls_dir}/server.key")]);
            set("tls-ca-cert-file", &[&format!("{tls_dir}/ca.crt")]);
            set("tls-auth-clients", &["no"]);
        } else {
            set("port", &[&port.to_string()]);
        }
        if let Role::Sentinel {
            master,
            primary_port,
            quorum,
            down_after_ms,
            failover_timeout_ms,
        } = &self.role
        {
            let primary = primary_port.to_string();
            set(
                "sentinel",
                &[
                    "monitor",
                    master,
                    "127.0.0.1",
                    &primary,
                    &quorum.to_string(),
                ],
            );
            set(
                "sentinel",
                &[
                    "down-after-milliseconds",
                    master,
                    &down_after_ms.to_string(),
                ],
            );
            set(
                "sentinel",
                &["failover-timeout", master, &failover_timeout_ms.to_string()],
            );
            if let Some(password) = &self.password {
                set("sentinel", &["auth-pass", master, password]);
                // Clients and the other Sentinels authenticate with the same password.
                set("requirepass", &[password]);
            }
            return out;
        }
        set("save", &[""]);
        // A replica that (re)joins is synced at once; Redis's default waits 5 s for others
        // to share the transfer, which only slows local stacks down.
        set("repl-diskless-sync-delay", &["0"]);
        if self.append_only {
            set("appendonly", &["yes"]);
            set("appendfsync", &["always"]);
        } else {
            set("appendonly", &["no"]);
        }
        if let Some(password) = &self.password {
            set("requirepass", &[password]);
            set("masterauth", &[password]);
        }
        match &self.role {
            Role::Replica { primary_port } => {
                set("replicaof", &["127.0.0.1", &primary_port.to_string()]);
            }
            Role::ClusterNode { node_timeout_ms } => {
                set("cluster-enabled", &["yes"]);
                set("cluster-config-file", &["nodes.conf"]);
                set("cluster-node-timeout", &[&node_timeout_ms.to_string()]);
            }
            Role::Standalone | Role::Sentinel { .. } => {}
        }
        if self.tls && !matches!(self.role, Role::Standalone) {
            set("tls-replication", &["yes"]);
            set("tls-cluster", &["yes"]);
        }
        out
    }
}

fn quote(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

pub(super) fn write_config(spec: &RedisSpec, dir: &Path, port: u16) -> Result<()> {
    let dir_text = dir.display().to_string();
    let mut text = String::from("# Written by localstack; `redis-server redis.conf` reruns it.\n");
    let local = [
        ("bind", vec!["127.0.0.1".to_owned()]),
        ("protected-mode", vec!["yes".to_owned()]),
        ("daemonize", vec!["no".to_owned()]),
        ("dir", vec![dir_text.clone()]),
        ("logfile", vec![format!("{dir_text}/redis.log")]),
    ];
    for (key, values) in local
        .into_iter()
        .chain(spec.settings(port, &format!("{dir_text}/tls")))
    {
        let values: Vec<String> = values.iter().map(|v| quote(v)).collect();
        text.push_str(&format!("{key} {}\n", values.join(" ")));
    }
    std::fs::write(dir.join("redis.conf"), text)
        .map_err(|e| Error::new(format!("cannot write {}/redis.conf: {e}", dir.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_values_are_quoted_for_redis() {
        assert_eq!(quote(""), "\"\"");
        assert_eq!(quote(r#"a "b" \c"#), r#""a \"b\" \\c""#);
    }

    #[test]
    fn a_tls_spec_serves_only_the_tls_port() {
        let settings = RedisSpec::new().tls().password("pw").settings(7000, "/tls");
        let get = |key: &str| {
            settings
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.join(" "))
        };

        assert_eq!(get("port").as_deref(), Some("0"));
        assert_eq!(get("tls-port").as_deref(), Some("7000"));
        assert_eq!(get("tls-ca-cert-file").as_deref(), Some("/tls/ca.crt"));
        assert_eq!(get("requirepass").as_deref(), Some("pw"));
    }
}
