//! One Redis on a free loopback port, as a `redis-server` process or as a container of the
//! project's Redis image: plain, with a password, with TLS, with append-only persistence.
//! Either way it can be stopped (SIGTERM), killed (SIGKILL), paused and resumed
//! (SIGSTOP/SIGCONT, `docker pause`), and restarted on the same port with its data.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

mod spec;

pub use spec::RedisSpec;
pub(crate) use spec::Role;
use spec::write_config;

use crate::{
    Error, Result, Signal, docker,
    net::{free_port, poll},
    process::Process,
    resp::{Connection, Reply},
    tls::TlsFiles,
    workdir::{WorkDir, last_lines, tail},
};

/// Written by Redis (process or container) once it accepts commands, after loading its data.
const READY_LINE: &str = "Ready to accept connections";

/// How long a graceful stop may take before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(10);

enum Runner {
    Process { binary: PathBuf, process: Process },
    Container { name: String },
}

/// A running (or stopped, restartable) Redis. Dropping it stops it and removes its
/// container and working directory (unless the logs are kept).
pub struct Redis {
    spec: RedisSpec,
    port: u16,
    tls: Option<TlsFiles>,
    runner: Runner,
    /// Ready lines in the log when the last (re)start began.
    ready_lines_before: usize,
    // Declared last: dropped after the runner has stopped.
    dir: WorkDir,
}

impl Redis {
    /// A `redis-server` process (the binary in `REDIS_SERVER`, default `redis-server` on
    /// PATH) on a free loopback port, configured by `redis.conf` in its working directory.
    pub fn start_process(spec: &RedisSpec) -> Result<Self> {
        let binary = std::env::var_os("REDIS_SERVER")
            .map_or_else(|| PathBuf::from("redis-server"), PathBuf::from);
        let name = match spec.role {
            Role::Sentinel { .. } => "sentinel",
            _ => "redis",
        };
        let dir = WorkDir::create(spec.parent_dir.as_deref(), name, spec.keep_logs)?;
        let tls = spec
            .tls
            .then(|| TlsFiles::generate(&dir.path().join("tls")))
            .transpose()?;
        let port = free_port()?;
        write_config(spec, dir.path(), port)?;
        let process = spawn_process(&binary, dir.path(), spec)?;
        let mut redis = Self {
            spec: spec.clone(),
            port,
            tls,
            runner: Runner::Process { binary, process },
            ready_lines_before: 0,
            dir,
        };
        // A port chosen free can be taken before Redis binds it: then try another one.
        let mut attempt = 0;
        loop {
            attempt += 1;
            match redis.wait_ready() {
                Ok(()) => return Ok(redis),
                Err(_) if attempt < 5 && redis.log().contains("Address already in use") => {
                    eprintln!(
                        "localstack: port {} was taken before redis-server bound it; trying another",
                        redis.port
                    );
                    redis.kill();
                    for file in ["redis.log", "redis.out"] {
                        let _ = std::fs::remove_file(redis.dir.path().join(file));
                    }
                    redis.port = free_port()?;
                    write_config(spec, redis.dir.path(), redis.port)?;
                    if let Runner::Process { binary, process } = &mut redis.runner {
                        *process = spawn_process(binary, redis.dir.path(), spec)?;
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// A container of `image` publishing Redis on a free port of 127.0.0.1. The container
    /// stays (stopped) between [`stop`](Self::stop) and [`restart`](Self::restart), so its
    /// data and its port survive; it is removed on drop.
    pub fn start_container(spec: &RedisSpec, image: &str) -> Result<Self> {
        if !matches!(spec.role, Role::Standalone) {
            return Err(Error::new(
                "only a standalone Redis runs as a container (clusters and Sentinels run as processes)",
            ));
        }
        docker::require_image(image)?;
        let dir = WorkDir::create(
            spec.parent_dir.as_deref(),
            "redis-container",
            spec.keep_logs,
        )?;
        let tls = spec
            .tls
            .then(|| TlsFiles::generate(&dir.path().join("tls")))
            .transpose()?;
        let mut last_error = None;
        for _ in 0..5 {
            let port = free_port()?;
            let name = container_name();
            let mut args: Vec<String> = [
                "run",
                "-d",
                "--name",
                &name,
                "--label",
                &format!("{}=owned", docker::LABEL),
                "-p",
                &format!("127.0.0.1:{port}:6379"),
            ]
            .map(str::to_owned)
            .to_vec();
            if spec.tls {
                args.push("-v".into());
                args.push(format!("{}:/tls:ro", dir.path().join("tls").display()));
            }
            args.push(image.to_owned());
            args.push("redis-server".into());
            // Clients arrive through Docker's port mapping, not from loopback.
            args.extend(["--protected-mode".to_owned(), "no".to_owned()]);
            for (key, values) in spec.settings(6379, "/tls") {
                args.push(format!("--{key}"));
                args.extend(values);
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            match docker::docker(&args) {
                Ok(_) => {
                    let mut redis = Self {
                        spec: spec.clone(),
                        port,
                        tls,
                        runner: Runner::Container { name },
                        ready_lines_before: 0,
                        dir,
                    };
                    redis.wait_ready()?;
                    return Ok(redis);
                }
                Err(e) => {
                    let _ = docker::docker(&["rm", "-f", "-v", &name]);
                    let text = e.to_string();
                    if text.contains("port is already allocated")
                        || text.contains("address already in use")
                    {
                        last_error = Some(e);
                        continue;
                    }
                    return Err(e.context(format!("starting a Redis container of {image}")));
                }
            }
        }
        Err(last_error.unwrap_or_else(|| Error::new("no Redis container started")))
    }

    /// `redis://127.0.0.1:<port>`, `rediss://` with TLS, with the password when there is one.
    pub fn url(&self) -> String {
        url(self.spec.tls, self.spec.password.as_deref(), self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The CA certificate that signed the server's (TLS only).
    pub fn ca_file(&self) -> Option<&Path> {
        self.tls.as_ref().map(|t| t.ca_cert.as_path())
    }

    pub fn spec(&self) -> &RedisSpec {
        &self.spec
    }

    /// The process id (processes only; `None` once it has ended).
    pub fn pid(&mut self) -> Option<u32> {
        match &mut self.runner {
            Runner::Process { process, .. } => process.is_running().then(|| process.pid()),
            Runner::Container { .. } => None,
        }
    }

    /// The container name (containers only).
    pub fn container(&self) -> Option<&str> {
        match &self.runner {
            Runner::Container { name } => Some(name),
            Runner::Process { .. } => None,
        }
    }

    /// The working directory: `redis.conf`, `redis.log` and data of a process; the TLS
    /// material of a container.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The log file of a process (a container logs to `docker logs`).
    pub fn log_path(&self) -> Option<PathBuf> {
        matches!(self.runner, Runner::Process { .. }).then(|| self.dir.path().join("redis.log"))
    }

    /// Everything Redis has logged so far.
    pub fn log(&self) -> String {
        match &self.runner {
            Runner::Process { .. } => {
                let mut text =
                    std::fs::read_to_string(self.dir.path().join("redis.log")).unwrap_or_default();
                // Errors before the log file is opened (a bad config line) go to stderr.
                text.push_str(
                    &std::fs::read_to_string(self.dir.path().join("redis.out")).unwrap_or_default(),
                );
                text
            }
            Runner::Container { name } => docker::logs(name),
        }
    }

    /// Keep the working directory after the handle is dropped.
    pub fn keep_logs(&mut self) {
        self.dir.keep();
    }

    pub fn is_running(&mut self) -> bool {
        match &mut self.runner {
            Runner::Process { process, .. } => process.is_running(),
            Runner::Container { name } => docker::inspect(name)
                .ok()
                .flatten()
                .is_some_and(|s| s.running),
        }
    }

    /// Stops gracefully (SIGTERM: Redis persists what it is configured to, then exits);
    /// clients see refused connections.
    pub fn stop(&mut self) -> Result<()> {
        match &mut self.runner {
            Runner::Process { process, .. } => {
                process.stop(STOP_GRACE);
                Ok(())
            }
            Runner::Container { name } => docker::docker(&["stop", "-t", "10", name]).map(drop),
        }
    }

    /// Ends Redis at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        match &mut self.runner {
            Runner::Process { process, .. } => {
                process.kill();
            }
            Runner::Container { name } => {
                let _ = docker::docker(&["kill", name]);
            }
        }
    }

    /// Freezes Redis (SIGSTOP, `docker pause`): connections stay open, nothing is answered.
    pub fn pause(&mut self) -> Result<()> {
        match &mut self.runner {
            Runner::Process { process, .. } => process.signal(Signal::Stop),
            Runner::Container { name } => docker::docker(&["pause", name]).map(drop),
        }
    }

    /// Thaws a paused Redis (SIGCONT, `docker unpause`).
    pub fn resume(&mut self) -> Result<()> {
        match &mut self.runner {
            Runner::Process { process, .. } => process.signal(Signal::Cont),
            Runner::Container { name } => docker::docker(&["unpause", name]).map(drop),
        }
    }

    /// Starts a stopped or killed Redis again on the same port, with its data (what it
    /// persisted: everything with `append_only`), and waits until it is ready.
    pub fn restart(&mut self) -> Result<()> {
        if self.is_running() {
            self.stop()?;
        }
        self.ready_lines_before = self.log().matches(READY_LINE).count();
        match &mut self.runner {
            Runner::Process { binary, process } => {
                *process = spawn_process(binary, self.dir.path(), &self.spec)?;
            }
            Runner::Container { name } => {
                docker::docker(&["start", name])?;
            }
        }
        self.wait_ready()
    }

    /// Starts a stopped or killed process again on the same port in another role (a primary
    /// that comes back as a replica of the one that replaced it), and waits until it is ready.
    pub(crate) fn restart_as(&mut self, role: Role) -> Result<()> {
        if !matches!(self.runner, Runner::Process { .. }) {
            return Err(Error::new(
                "only a redis-server process can change its role",
            ));
        }
        if self.is_running() {
            self.stop()?;
        }
        self.spec = self.spec.clone().role(role);
        write_config(&self.spec, self.dir.path(), self.port)?;
        self.restart()
    }

    /// A plain-text connection (not for TLS).
    pub(crate) fn connect(&self) -> std::io::Result<Connection> {
        Connection::open(
            self.port,
            self.password_for_clients(),
            Duration::from_secs(2),
        )
    }

    fn password_for_clients(&self) -> Option<&str> {
        self.spec.password.as_deref()
    }

    /// Waits until Redis answers PING (TLS: until it logs that it is ready).
    fn wait_ready(&mut self) -> Result<()> {
        let timeout = self.spec.ready_timeout;
        let outcome = poll(timeout, Duration::from_millis(50), || {
            if !self.is_running() {
                return Some(Err(self.failure("exited before it was ready")));
            }
            if self.spec.tls {
                let ready = self.log().matches(READY_LINE).count() > self.ready_lines_before;
                return ready.then_some(Ok(()));
            }
            let pong = self
                .connect()
                .and_then(|mut c| c.command(&["PING"]))
                .is_ok_and(|r| r == Reply::Simple("PONG".into()));
            pong.then_some(Ok(()))
        });
        outcome.unwrap_or_else(|| Err(self.failure(&format!("was not ready within {timeout:?}"))))
    }

    fn failure(&self, what: &str) -> Error {
        let place = match &self.runner {
            Runner::Process { .. } => format!("redis-server on port {}", self.port),
            Runner::Container { name } => format!("Redis container {name} on port {}", self.port),
        };
        Error::new(format!(
            "{place} {what}; last log lines:\n{}",
            last_lines(&self.log(), 20)
        ))
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        match &mut self.runner {
            Runner::Process { process, .. } => {
                process.stop(STOP_GRACE);
            }
            Runner::Container { name } => {
                if self.dir.is_kept() {
                    let _ = std::fs::write(self.dir.path().join("redis.log"), docker::logs(name));
                }
                let _ = docker::docker(&["rm", "-f", "-v", name]);
            }
        }
    }
}

/// `redis://` or `rediss://` URL of a loopback Redis.
pub fn url(tls: bool, password: Option<&str>, port: u16) -> String {
    let scheme = if tls { "rediss" } else { "redis" };
    match password {
        Some(password) => format!("{scheme}://:{}@127.0.0.1:{port}", encode_userinfo(password)),
        None => format!("{scheme}://127.0.0.1:{port}"),
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode_userinfo(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn container_name() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "localstack-redis-{}-{}-{nanos:08x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

fn spawn_process(binary: &Path, dir: &Path, spec: &RedisSpec) -> Result<Process> {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("redis.out"))?;
    let mut command = Command::new(binary);
    command
        .arg(dir.join("redis.conf"))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out);
    if matches!(spec.role, Role::Sentinel { .. }) {
        command.arg("--sentinel");
    }
    Process::spawn("redis-server", command).map_err(|e| {
        e.context(format!(
            "{} (Debian: apt-get install redis-server, or set REDIS_SERVER)",
            binary.display()
        ))
    })
}

/// Tail of a file, re-exported for the stack's error messages.
pub(crate) fn log_tail(path: &Path) -> String {
    tail(path, 20)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_carry_scheme_and_encoded_password() {
        assert_eq!(url(false, None, 7000), "redis://127.0.0.1:7000");
        assert_eq!(
            url(true, Some("p@ss word"), 7001),
            "rediss://:p%40ss%20word@127.0.0.1:7001"
        );
    }
}
