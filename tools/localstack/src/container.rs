//! Long-lived named Redis containers, reused across runs: the Redis the integration tests
//! share (`trickster-oracle-test-redis`) and the one `scripts/serve` uses. They are started
//! when missing and never stopped by this crate; `docker rm -f <name>` removes one.

use std::time::Duration;

use crate::{
    Error, Result, docker,
    net::poll,
    resp::{Connection, Reply},
};

/// A named Redis container to reuse, or to create from `image`.
#[derive(Clone, Debug)]
pub struct NamedContainer {
    pub name: String,
    pub image: String,
    /// A named volume mounted at `/data`, which outlives the container.
    pub volume: Option<String>,
    /// Append-only persistence (otherwise nothing is persisted).
    pub append_only: bool,
    pub ready_timeout: Duration,
}

impl NamedContainer {
    pub fn new(name: &str, image: &str) -> Self {
        Self {
            name: name.to_owned(),
            image: image.to_owned(),
            volume: None,
            append_only: false,
            ready_timeout: Duration::from_secs(30),
        }
    }

    /// Makes sure the container runs and answers PING; returns its port on 127.0.0.1.
    ///
    /// An existing container is reused (started again if it was stopped) as long as it was
    /// created from the same image (by id: another name for the same image is the same);
    /// one created from another image is replaced. Two callers racing to create it both end
    /// up using the one that won.
    pub fn ensure(&self) -> Result<u16> {
        let image_id = docker::require_image(&self.image)?;
        for _ in 0..3 {
            match docker::inspect(&self.name)? {
                Some(state) if state.image_id != image_id => {
                    eprintln!(
                        "localstack: replacing container {}: it was made from another image than {}",
                        self.name, self.image
                    );
                    docker::docker(&["rm", "-f", "-v", &self.name])?;
                }
                Some(state) if state.running && state.paused => {
                    docker::docker(&["unpause", &self.name])?;
                    return self.ready_port();
                }
                Some(state) if state.running => return self.ready_port(),
                Some(_) => {
                    docker::docker(&["start", &self.name])?;
                    return self.ready_port();
                }
                None => {
                    match docker::docker(
                        &self
                            .run_args()
                            .iter()
                            .map(String::as_str)
                            .collect::<Vec<_>>(),
                    ) {
                        Ok(_) => return self.ready_port(),
                        // Someone else created it meanwhile: look again.
                        Err(e) if e.to_string().contains("is already in use") => continue,
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        Err(Error::new(format!(
            "container {} keeps changing under us; remove it with docker rm -f {}",
            self.name, self.name
        )))
    }

    fn run_args(&self) -> Vec<String> {
        let mut args: Vec<String> = [
            "run",
            "-d",
            "--name",
            &self.name,
            "--label",
            &format!("{}=shared", docker::LABEL),
            // Docker picks the host port; it is read back on every use.
            "-p",
            "127.0.0.1::6379",
        ]
        .map(str::to_owned)
        .to_vec();
        if let Some(volume) = &self.volume {
            args.push("-v".into());
            args.push(format!("{volume}:/data"));
        }
        args.push(self.image.clone());
        args.extend(["redis-server", "--protected-mode", "no", "--save", ""].map(str::to_owned));
        if self.append_only {
            args.extend(["--appendonly", "yes"].map(str::to_owned));
        } else {
            args.extend(["--appendonly", "no"].map(str::to_owned));
        }
        args
    }

    fn ready_port(&self) -> Result<u16> {
        let port = docker::host_port(&self.name, 6379)?;
        let ready = poll(self.ready_timeout, Duration::from_millis(50), || {
            Connection::open(port, None, Duration::from_secs(2))
                .and_then(|mut c| c.command(&["PING"]))
                .is_ok_and(|r| r == Reply::Simple("PONG".into()))
                .then_some(())
        });
        ready.map(|()| port).ok_or_else(|| {
            Error::new(format!(
                "container {} did not answer PING on 127.0.0.1:{port} within {:?}; last log \
                 lines:\n{}",
                self.name,
                self.ready_timeout,
                crate::workdir::last_lines(&docker::logs(&self.name), 20)
            ))
        })
    }
}
