//! Working directories under `$TMPDIR` (default /tmp), removed when their owner is dropped
//! unless the logs are to be kept.

use std::{
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, Ordering},
    time::{SystemTime, UNIX_EPOCH},
};

use crate::{Error, Result};

#[derive(Debug)]
pub struct WorkDir {
    path: PathBuf,
    keep: bool,
}

impl WorkDir {
    /// A new, empty directory `localstack-<name>-<unique>` inside `parent`, or inside
    /// `$TMPDIR` when `parent` is `None` (so `rm -rf $TMPDIR/localstack-*` removes whatever
    /// a killed run left). With `keep`, it stays after the owner is gone.
    pub fn create(parent: Option<&Path>, name: &str, keep: bool) -> Result<Self> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let parent = parent.map_or_else(std::env::temp_dir, Path::to_path_buf);
        std::fs::create_dir_all(&parent)
            .map_err(|e| Error::new(format!("cannot create {}: {e}", parent.display())))?;
        for _ in 0..100 {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or_default();
            let path = parent.join(format!(
                "localstack-{name}-{}-{}-{nanos:08x}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(Self { path, keep }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(Error::new(format!("cannot create {}: {e}", path.display())));
                }
            }
        }
        Err(Error::new(format!(
            "no unique directory name for {name} in {}",
            parent.display()
        )))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Keep the directory (and the logs in it) after the owner is dropped.
    pub fn keep(&mut self) {
        self.keep = true;
    }

    pub fn is_kept(&self) -> bool {
        self.keep
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// The last `lines` lines of a log file, for error messages.
pub(crate) fn tail(path: &Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => last_lines(&String::from_utf8_lossy(&bytes), lines),
        Err(e) => format!("({} unreadable: {e})", path.display()),
    }
}

pub(crate) fn last_lines(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_work_dir_is_removed_on_drop_unless_kept() {
        let gone = WorkDir::create(None, "unit", false).unwrap();
        let gone_path = gone.path().to_path_buf();
        let mut kept = WorkDir::create(None, "unit", false).unwrap();
        kept.keep();
        let kept_path = kept.path().to_path_buf();

        drop(gone);
        drop(kept);

        assert!(!gone_path.exists());
        assert!(kept_path.is_dir());
        std::fs::remove_dir_all(kept_path).unwrap();
    }

    #[test]
    fn last_lines_keeps_the_end() {
        assert_eq!(last_lines("a\nb\nc\n", 2), "b\nc");
        assert_eq!(last_lines("a", 5), "a");
    }
}
