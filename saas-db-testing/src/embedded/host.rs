//! What the throwaway clusters need from this machine: the server binaries,
//! the unprivileged user to run them as when we are root, and the removal
//! of clusters whose owning process is gone.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::{EmbeddedError, DIR_PREFIX};
use crate::lock_file::{self, LockState};
use crate::sys::{self, RunAs, Signal};

/// The lock file in a cluster's directory, held by the cluster's owner for
/// the cluster's life.
pub(super) const LOCK_FILE: &str = "owner.lock";

/// Removes clusters whose owning process is gone (their watchdog died too,
/// for example after a reboot or `kill -9` of the whole process group): those
/// whose lock file nobody holds any more.
pub(super) fn sweep_stale_clusters() {
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(DIR_PREFIX) {
            continue;
        }
        let dir = entry.path();
        // Held until the directory is gone, so no second sweeper races us.
        let _held = match lock_file::probe(&dir.join(LOCK_FILE)) {
            LockState::Held => continue,
            LockState::Free(file) => Some(file),
            // A start (in this process or another) may have created the
            // directory and not yet its lock file; an old one without it
            // is the remains of a start that died half-way.
            LockState::Missing => {
                let young = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| t.elapsed().is_ok_and(|age| age < Duration::from_secs(60)));
                if young {
                    continue;
                }
                None
            }
        };
        if let Some(pid) = postmaster_of(&dir) {
            sys::signal(pid, Signal::Quit);
        }
        let _ = fs::remove_dir_all(&dir);
    }
}

/// The pid in the cluster's `postmaster.pid`, if that process is still a
/// `postgres` (asked of `ps`, which every Unix has, so a recycled pid is
/// never signalled).
fn postmaster_of(dir: &Path) -> Option<u32> {
    let text = fs::read_to_string(dir.join("data").join("postmaster.pid")).ok()?;
    let pid: u32 = text.lines().next()?.trim().parse().ok()?;
    let out = Command::new("ps")
        .args(["-o", "comm=", "-p", &pid.to_string()])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let comm = String::from_utf8_lossy(&out.stdout);
    comm.trim().ends_with("postgres").then_some(pid)
}

pub(super) fn find_bin_dir() -> Result<PathBuf, EmbeddedError> {
    if let Some(dir) = std::env::var_os("SAAS_DB_PG_BIN") {
        let dir = PathBuf::from(dir);
        return if dir.join("initdb").exists() {
            Ok(dir)
        } else {
            Err(EmbeddedError::BinariesNotFound(format!(
                "no initdb in SAAS_DB_PG_BIN={}",
                dir.display()
            )))
        };
    }
    let mut versioned: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versioned.sort();
    if let Some((_, bin)) = versioned.pop() {
        return Ok(bin);
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .find(|dir| dir.join("initdb").exists() && dir.join("postgres").exists())
        .ok_or_else(|| {
            EmbeddedError::BinariesNotFound(
                "looked in SAAS_DB_PG_BIN, /usr/lib/postgresql/*/bin and PATH".into(),
            )
        })
}

/// `(uid, gid)` to run the server as, when we are root.
pub(crate) fn server_user() -> Result<RunAs, EmbeddedError> {
    if !sys::is_root() {
        return Ok(None);
    }
    let name = std::env::var("SAAS_DB_PG_USER").unwrap_or_else(|_| "postgres".into());
    match sys::user_ids(&name) {
        Some(ids) => Ok(Some(ids)),
        None => Err(EmbeddedError::NoServerUser(name)),
    }
}
