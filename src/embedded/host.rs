//! What the throwaway clusters need from this machine: the server binaries,
//! the unprivileged user to run them as when we are root, and the removal
//! of clusters whose owning process is gone.

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use super::{EmbeddedError, DIR_PREFIX};

/// Removes clusters whose owning process is gone (their watchdog died too,
/// for example after a reboot or `kill -9` of the whole process group).
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
        let owner = fs::read_to_string(dir.join("owner")).unwrap_or_default();
        if crate::process::stamp_alive(&owner) {
            continue;
        }
        // Another start (in this process or another) may have created the
        // directory and not yet written its owner file.
        let young = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|age| age < Duration::from_secs(60)));
        if owner.is_empty() && young {
            continue;
        }
        let pid_file = dir.join("data").join("postmaster.pid");
        if let Some(pid) = fs::read_to_string(pid_file)
            .ok()
            .and_then(|t| t.lines().next().and_then(|l| l.trim().parse::<i32>().ok()))
        {
            let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if comm.trim() == "postgres" {
                // SAFETY: kill(2) on a postgres process of an abandoned cluster.
                unsafe { libc::kill(pid, libc::SIGQUIT) };
            }
        }
        let _ = fs::remove_dir_all(&dir);
    }
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
pub(crate) fn server_user() -> Result<Option<(u32, u32)>, EmbeddedError> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let name = std::env::var("SAAS_DB_PG_USER").unwrap_or_else(|_| "postgres".into());
    let c_name = std::ffi::CString::new(name.clone())
        .map_err(|_| EmbeddedError::NoServerUser(name.clone()))?;
    // SAFETY: getpwnam_r writes into the buffers we own; result is checked.
    unsafe {
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut buf = vec![0 as libc::c_char; 16 * 1024];
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwnam_r(
            c_name.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        );
        if rc != 0 || result.is_null() {
            return Err(EmbeddedError::NoServerUser(name));
        }
        Ok(Some((pwd.pw_uid, pwd.pw_gid)))
    }
}
