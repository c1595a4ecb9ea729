//! Everything platform-specific of the throwaway servers, in one place:
//! file modes and owners, running a child as another user or in its own
//! process group, signals, `atexit`, the host name, the user id and FIFOs. The servers need a
//! Unix system; elsewhere these are inert and the launchers refuse to start
//! with [`EmbeddedError::Unsupported`](crate::EmbeddedError::Unsupported).

use std::path::Path;
use std::process::Command;

pub(crate) use imp::*;

/// `(uid, gid)` a server process runs as when we are root.
pub(crate) type RunAs = Option<(u32, u32)>;

/// The signals the harness sends to servers it started.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Signal {
    /// SIGINT: PostgreSQL's fast shutdown.
    Interrupt,
    /// SIGQUIT: PostgreSQL's immediate shutdown.
    Quit,
}

#[cfg(unix)]
mod imp {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;

    use super::{Command, Path, RunAs, Signal};

    /// Sets the permission bits of `path`.
    pub(crate) fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }

    /// Hands `path` to the server user (no-op when we are not root).
    pub(crate) fn chown(path: &Path, run_as: RunAs) -> std::io::Result<()> {
        match run_as {
            Some((uid, gid)) => std::os::unix::fs::chown(path, Some(uid), Some(gid)),
            None => Ok(()),
        }
    }

    /// Makes `cmd` run as the server user (no-op when we are not root).
    pub(crate) fn run_as(cmd: &mut Command, run_as: RunAs) {
        if let Some((uid, gid)) = run_as {
            cmd.uid(uid).gid(gid);
        }
    }

    /// Puts `cmd` in a process group of its own, so a Ctrl-C aimed at the
    /// test run does not reach it.
    pub(crate) fn own_process_group(cmd: &mut Command) {
        cmd.process_group(0);
    }

    /// Sends `signal` to `pid`; whether it was delivered.
    pub(crate) fn signal(pid: u32, signal: Signal) -> bool {
        let Ok(pid) = i32::try_from(pid) else {
            return false;
        };
        let sig = match signal {
            Signal::Interrupt => libc::SIGINT,
            Signal::Quit => libc::SIGQUIT,
        };
        // SAFETY: kill(2) has no memory preconditions; callers pass servers they started.
        unsafe { libc::kill(pid, sig) == 0 }
    }

    /// Whether this process runs as root (initdb refuses to).
    pub(crate) fn is_root() -> bool {
        // SAFETY: geteuid has no preconditions.
        unsafe { libc::geteuid() == 0 }
    }

    /// `(uid, gid)` of the system user `name`, if it exists.
    pub(crate) fn user_ids(name: &str) -> Option<(u32, u32)> {
        let c_name = std::ffi::CString::new(name).ok()?;
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
            (rc == 0 && !result.is_null()).then_some((pwd.pw_uid, pwd.pw_gid))
        }
    }

    /// Runs `f` when the process exits normally (also after `main` returns
    /// inside the test harness, where statics are never dropped).
    pub(crate) fn at_exit(f: extern "C" fn()) {
        // SAFETY: registering a plain extern "C" fn with no captured state.
        unsafe { libc::atexit(f) };
    }

    /// The effective user id (names the shared server's files per user).
    pub(crate) fn user_id() -> u32 {
        // SAFETY: geteuid has no preconditions.
        unsafe { libc::geteuid() }
    }

    /// Creates a FIFO (named pipe) at `path`, readable and writable by us only.
    pub(crate) fn make_fifo(path: &Path) -> std::io::Result<()> {
        let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(std::io::Error::other)?;
        // SAFETY: mkfifo reads the NUL-terminated path we own.
        if unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) } == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }

    /// Opens a FIFO without waiting for the other end: for reading always
    /// succeeds; for writing fails (`ENXIO`) when nobody has it open for
    /// reading. The returned file blocks again, as a pipe normally does.
    pub(crate) fn open_fifo(path: &Path, write: bool) -> std::io::Result<std::fs::File> {
        use std::os::fd::AsRawFd;
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::File::options()
            .read(!write)
            .write(write)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)?;
        let fd = file.as_raw_fd();
        // SAFETY: fcntl on a descriptor we own, changing only O_NONBLOCK.
        let ok = unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFL);
            flags >= 0 && libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) == 0
        };
        if ok {
            Ok(file)
        } else {
            Err(std::io::Error::last_os_error())
        }
    }

    /// This machine's host name (empty if unknown).
    pub(crate) fn hostname() -> String {
        let mut buf = [0u8; 256];
        // SAFETY: gethostname writes at most buf.len() bytes into our buffer.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if rc != 0 {
            return String::new();
        }
        let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..len]).into_owned()
    }
}

#[cfg(not(unix))]
mod imp {
    use super::{Command, Path, RunAs, Signal};

    pub(crate) fn set_mode(_: &Path, _: u32) -> std::io::Result<()> {
        Ok(())
    }
    pub(crate) fn chown(_: &Path, _: RunAs) -> std::io::Result<()> {
        Ok(())
    }
    pub(crate) fn run_as(_: &mut Command, _: RunAs) {}
    pub(crate) fn own_process_group(_: &mut Command) {}
    pub(crate) fn signal(_: u32, _: Signal) -> bool {
        false
    }
    pub(crate) fn is_root() -> bool {
        false
    }
    pub(crate) fn user_ids(_: &str) -> Option<(u32, u32)> {
        None
    }
    pub(crate) fn at_exit(_: extern "C" fn()) {}
    pub(crate) fn user_id() -> u32 {
        0
    }
    pub(crate) fn make_fifo(_: &Path) -> std::io::Result<()> {
        Err(std::io::ErrorKind::Unsupported.into())
    }
    pub(crate) fn open_fifo(_: &Path, _: bool) -> std::io::Result<std::fs::File> {
        Err(std::io::ErrorKind::Unsupported.into())
    }
    pub(crate) fn hostname() -> String {
        std::env::var("COMPUTERNAME").unwrap_or_default()
    }
}
