//! Liveness by lock files, on every platform std supports: whoever owns a
//! resource (a throwaway cluster's directory, a test process's databases)
//! holds an exclusive lock on a file for as long as it lives, and the
//! operating system releases the lock when the owner ends, however it ends
//! (`SIGKILL` included). A sweeper removes a resource only when it can take
//! that lock itself. No `/proc`, no pids that get recycled.

use std::fs::{self, File, TryLockError};
use std::path::Path;

/// What a sweeper finds at a lock file's path.
#[derive(Debug)]
pub(crate) enum LockState {
    /// No file: its owner never got that far, or it was cleaned up.
    Missing,
    /// Someone holds the lock: the owner is alive.
    Held,
    /// The lock was free; the caller now holds it (until it drops this file).
    Free(File),
}

/// Creates the lock file `path`, already locked by the returned file: the
/// lock is taken on a sibling `<path>.new` that is then renamed into place,
/// so no sweeper ever sees `path` unlocked while its owner lives.
///
/// Keep the returned file open for as long as the owner lives.
pub(crate) fn create_locked(path: &Path) -> std::io::Result<File> {
    let mut staging = path.as_os_str().to_owned();
    staging.push(".new");
    let file = File::create(&staging)?;
    file.try_lock().map_err(|e| match e {
        TryLockError::Error(e) => e,
        TryLockError::WouldBlock => std::io::Error::other("lock file is locked by another"),
    })?;
    fs::rename(&staging, path)?;
    Ok(file)
}

/// Tries to take the lock at `path` without waiting.
pub(crate) fn probe(path: &Path) -> LockState {
    let Ok(file) = File::open(path) else {
        return LockState::Missing;
    };
    match file.try_lock() {
        Ok(()) => LockState::Free(file),
        Err(TryLockError::WouldBlock) => LockState::Held,
        // Locking unsupported on this filesystem: never sweep on a guess.
        Err(TryLockError::Error(_)) => LockState::Held,
    }
}
