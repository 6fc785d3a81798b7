//! The docker CLI, for the Redis containers: no daemon API client, the same commands a
//! person would type.

use std::process::{Command, Stdio};

use crate::{Error, Result};

/// Label on every container this crate creates (`owned` or `shared`), for cleanup:
/// `docker rm -f $(docker ps -aq --filter label=trickster.localstack)`.
pub const LABEL: &str = "trickster.localstack";

/// Runs `docker <args>` and returns its standard output, trimmed.
pub(crate) fn docker(args: &[&str]) -> Result<String> {
    let output = Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::new(format!("cannot run docker (is it installed?): {e}")))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        Err(Error::new(format!(
            "docker {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

/// The id of `image` when it is present locally; with instructions when it is not (`docker
/// run` would try to pull it, which hangs or fails slowly without a registry).
pub(crate) fn require_image(image: &str) -> Result<String> {
    if let Ok(id) = docker(&["image", "inspect", "--format", "{{.Id}}", image]) {
        return Ok(id);
    }
    Err(Error::new(format!(
        "the image {image} is not present. scripts/build-images.sh provides it (pulled, or \
         built locally without a registry) and prints the {var} to use; scripts/test and \
         scripts/serve call it for you",
        var = crate::images::PREFIX_VAR
    )))
}

/// What `docker inspect` says about a container; `None` when there is none by that name.
#[derive(Debug)]
pub(crate) struct ContainerState {
    pub running: bool,
    pub paused: bool,
    /// The id of the image it was created from.
    pub image_id: String,
}

pub(crate) fn inspect(name: &str) -> Result<Option<ContainerState>> {
    let output = Command::new("docker")
        .args([
            "container",
            "inspect",
            "--format",
            "{{.State.Running}} {{.State.Paused}} {{.Image}}",
            name,
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::new(format!("cannot run docker (is it installed?): {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr.contains("No such container") || stderr.contains("No such object") {
            return Ok(None);
        }
        return Err(Error::new(format!(
            "docker container inspect {name} failed: {}",
            stderr.trim()
        )));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let mut fields = text.split_whitespace();
    Ok(Some(ContainerState {
        running: fields.next() == Some("true"),
        paused: fields.next() == Some("true"),
        image_id: fields.next().unwrap_or_default().to_owned(),
    }))
}

/// The loopback host port published for the container's `port`/tcp.
pub(crate) fn host_port(name: &str, port: u16) -> Result<u16> {
    let mapping = docker(&["port", name, &format!("{port}/tcp")])?;
    mapping
        .lines()
        .find_map(|line| line.rsplit_once(':')?.1.trim().parse().ok())
        .ok_or_else(|| Error::new(format!("{name} publishes no port for {port}: {mapping:?}")))
}

/// The container's log (Redis logs to standard output in a container).
pub(crate) fn logs(name: &str) -> String {
    Command::new("docker")
        .args(["logs", name])
        .stdin(Stdio::null())
        .output()
        .map(|o| {
            let mut text = String::from_utf8_lossy(&o.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&o.stderr));
            text
        })
        .unwrap_or_default()
}
