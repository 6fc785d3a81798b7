//! A child process this crate started: signals, bounded waits, stop with a grace period.
//!
//! A process is only ever signalled while it is still our unreaped child, so its pid cannot
//! belong to anyone else.

use std::{
    process::{Child, Command, ExitStatus},
    sync::atomic::{AtomicBool, Ordering},
    thread,
    time::{Duration, Instant},
};

use crate::{Error, Result};

/// The signals the tools send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// Stop gracefully (Redis persists what it is configured to; the service drains).
    Term,
    /// Stop at once, no cleanup: a crash.
    Kill,
    /// Freeze (the process keeps its sockets but answers nothing).
    Stop,
    /// Thaw a frozen process.
    Cont,
}

impl Signal {
    fn number(self) -> libc::c_int {
        match self {
            Signal::Term => libc::SIGTERM,
            Signal::Kill => libc::SIGKILL,
            Signal::Stop => libc::SIGSTOP,
            Signal::Cont => libc::SIGCONT,
        }
    }
}

static END_WITH_STARTER: AtomicBool = AtomicBool::new(false);

/// From now on, every process started gets SIGTERM when the thread that started it ends
/// (Linux), so a `localstack up` that is killed leaves no Redis or service behind. Only for
/// a program that starts its processes from a thread that lives as long as they should (the
/// CLI's main thread); tests start them from short-lived threads and must not use it.
pub fn end_children_with_their_starter() {
    END_WITH_STARTER.store(true, Ordering::SeqCst);
}

pub(crate) struct Process {
    name: String,
    child: Child,
    status: Option<ExitStatus>,
}

impl Process {
    pub(crate) fn spawn(name: impl Into<String>, mut command: Command) -> Result<Self> {
        let name = name.into();
        #[cfg(target_os = "linux")]
        if END_WITH_STARTER.load(Ordering::SeqCst) {
            use std::os::unix::process::CommandExt;
            // SAFETY: only prctl(2), which is async-signal-safe, runs between fork and exec.
            unsafe {
                command.pre_exec(|| {
                    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let child = command.spawn().map_err(|e| {
            Error::new(format!(
                "cannot start {name} ({}): {e}",
                command.get_program().to_string_lossy()
            ))
        })?;
        Ok(Self {
            name,
            child,
            status: None,
        })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status once the process has ended (it is reaped then).
    pub(crate) fn exit_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none()
            && let Ok(Some(status)) = self.child.try_wait()
        {
            self.status = Some(status);
        }
        self.status
    }

    pub(crate) fn is_running(&mut self) -> bool {
        self.exit_status().is_none()
    }

    pub(crate) fn signal(&mut self, signal: Signal) -> Result<()> {
        if !self.is_running() {
            return Err(Error::new(format!("{} is not running", self.name)));
        }
        let pid = libc::pid_t::try_from(self.child.id())
            .map_err(|_| Error::new(format!("pid of {} out of range", self.name)))?;
        // SAFETY: kill(2) with a pid we own (not reaped yet, see above) and a valid signal.
        let rc = unsafe { libc::kill(pid, signal.number()) };
        if rc == 0 {
            Ok(())
        } else {
            Err(Error::new(format!(
                "cannot send {signal:?} to {} (pid {pid}): {}",
                self.name,
                std::io::Error::last_os_error()
            )))
        }
    }

    /// Waits at most `timeout` for the process to end.
    pub(crate) fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exit_status() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then SIGKILL when it has not ended after `grace`.
    pub(crate) fn stop(&mut self, grace: Duration) -> ExitStatus {
        if let Some(status) = self.exit_status() {
            return status;
        }
        let _ = self.signal(Signal::Term);
        // A frozen process only acts on SIGTERM once it runs again.
        let _ = self.signal(Signal::Cont);
        match self.wait_timeout(grace) {
            Some(status) => status,
            None => {
                eprintln!(
                    "localstack: {} did not stop within {grace:?}; killing it",
                    self.name
                );
                self.kill()
            }
        }
    }

    /// SIGKILL and reap.
    pub(crate) fn kill(&mut self) -> ExitStatus {
        if let Some(status) = self.exit_status() {
            return status;
        }
        let _ = self.child.kill();
        match self.child.wait() {
            Ok(status) => {
                self.status = Some(status);
                status
            }
            // Only possible if someone else reaped it; wait again briefly for the record.
            Err(_) => self
                .wait_timeout(Duration::from_secs(1))
                .unwrap_or_else(|| std::os::unix::process::ExitStatusExt::from_raw(9)),
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // Owners stop their processes gracefully; this is the last resort (a panic, an early
        // return) so that nothing outlives its handle.
        if self.is_running() {
            self.kill();
        }
    }
}
