//! The service binary as a process on a free loopback port: started with exactly the
//! environment it is given, ready when `GET /ready` answers 200, stopped with SIGTERM (it
//! drains in-flight requests) and SIGKILL after a grace period. Its output goes to
//! `service.log` in its working directory, which is also its current directory (so no `.env`
//! of the repository is read).

use std::{
    path::{Path, PathBuf},
    process::{Command, ExitStatus, Stdio},
    time::Duration,
};

use crate::{
    Error, Result, Signal,
    net::{free_port, http_status, poll},
    process::Process,
    workdir::{WorkDir, tail},
};

#[derive(Clone, Debug)]
pub struct ServiceSpec {
    pub binary: PathBuf,
    /// The whole environment besides `PATH`, `HOME` (the working directory), `HOST`
    /// (127.0.0.1) and `PORT` (chosen here). Nothing else is inherited.
    pub env: Vec<(String, String)>,
    /// Names the working directory and log messages (`service`, `main`, ...).
    pub name: String,
    pub ready_timeout: Duration,
    /// How long SIGTERM may take before SIGKILL.
    pub stop_grace: Duration,
    pub keep_logs: bool,
    pub parent_dir: Option<PathBuf>,
}

impl ServiceSpec {
    pub fn new(binary: impl Into<PathBuf>) -> Self {
        Self {
            binary: binary.into(),
            env: Vec::new(),
            name: "service".to_owned(),
            ready_timeout: Duration::from_secs(60),
            stop_grace: Duration::from_secs(15),
            keep_logs: false,
            parent_dir: None,
        }
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn envs<K: AsRef<str>, V: AsRef<str>>(
        mut self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        for (key, value) in vars {
            self.env
                .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        }
        self
    }
}

pub struct Service {
    spec: ServiceSpec,
    port: u16,
    process: Process,
    // Declared last: removed after the process has stopped.
    dir: WorkDir,
}

impl Service {
    /// Starts the binary and waits until `/ready` answers 200 (bounded by `ready_timeout`).
    pub fn start(spec: &ServiceSpec) -> Result<Self> {
        let dir = WorkDir::create(spec.parent_dir.as_deref(), &spec.name, spec.keep_logs)?;
        let port = free_port()?;
        let process = spawn(spec, dir.path(), port)?;
        let mut service = Self {
            spec: spec.clone(),
            port,
            process,
            dir,
        };
        // A port chosen free can be taken before the service binds it: then try another.
        let mut attempt = 0;
        loop {
            attempt += 1;
            match service.wait_ready() {
                Ok(()) => return Ok(service),
                Err(_) if attempt < 3 && service.log().contains("Address already in use") => {
                    eprintln!(
                        "localstack: port {} was taken before {} bound it; trying another",
                        service.port, spec.name
                    );
                    service.process.kill();
                    let _ = std::fs::remove_file(service.log_path());
                    service.port = free_port()?;
                    service.process = spawn(spec, service.dir.path(), service.port)?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("service.log")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Keep the working directory and its log after the handle is dropped.
    pub fn keep_logs(&mut self) {
        self.dir.keep();
    }

    pub fn is_running(&mut self) -> bool {
        self.process.is_running()
    }

    /// The exit status once the process has ended.
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        self.process.exit_status()
    }

    /// Sends SIGTERM and returns at once (the service starts draining).
    pub fn terminate(&mut self) -> Result<()> {
        self.process.signal(Signal::Term)
    }

    /// Waits at most `timeout` for the process to end.
    pub fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        self.process.wait_timeout(timeout)
    }

    /// SIGTERM, SIGKILL after the grace period; the exit status.
    pub fn stop(&mut self) -> ExitStatus {
        self.process.stop(self.spec.stop_grace)
    }

    /// SIGKILL: a crash.
    pub fn kill(&mut self) -> ExitStatus {
        self.process.kill()
    }

    fn wait_ready(&mut self) -> Result<()> {
        let timeout = self.spec.ready_timeout;
        let port = self.port;
        let outcome = poll(timeout, Duration::from_millis(50), || {
            if let Some(status) = self.process.exit_status() {
                return Some(Err(
                    self.failure(&format!("exited ({status}) before it was ready"))
                ));
            }
            (http_status(port, "/ready", Duration::from_secs(2)).ok() == Some(200))
                .then_some(Ok(()))
        });
        outcome.unwrap_or_else(|| {
            Err(self.failure(&format!(
                "did not answer GET /ready with 200 within {timeout:?}"
            )))
        })
    }

    fn failure(&self, what: &str) -> Error {
        Error::new(format!(
            "{} ({}) on port {} {what}; last lines of {}:\n{}",
            self.spec.name,
            self.spec.binary.display(),
            self.port,
            self.log_path().display(),
            tail(&self.log_path(), 20)
        ))
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.process.stop(self.spec.stop_grace);
    }
}

fn spawn(spec: &ServiceSpec, dir: &Path, port: u16) -> Result<Process> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("service.log"))?;
    let mut command = Command::new(&spec.binary);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("HOST", "127.0.0.1")
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        // Ours, whatever the caller's environment says: it is the port we chose.
        .env("PORT", port.to_string())
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    Process::spawn(spec.name.clone(), command)
        .map_err(|e| e.context(format!("the service binary {}", spec.binary.display())))
}
