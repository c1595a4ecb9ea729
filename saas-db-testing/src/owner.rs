//! The owner token of this process: a random id, named in the test
//! databases it creates, whose lock file (`saas-db-owner-<token>.lock` in
//! the temp directory) it holds for its whole life. Another process that
//! finds a test database can tell from that lock whether its owner still
//! runs (see [`crate::lock_file`]).

use std::fs;
use std::path::PathBuf;
use std::sync::OnceLock;

use crate::lock_file::{self, LockState};

const PREFIX: &str = "saas-db-owner-";
const SUFFIX: &str = ".lock";

static OWNER: OnceLock<Result<(String, fs::File), String>> = OnceLock::new();

/// At normal exit the file goes (a killed process leaves it to the next
/// sweep); whatever the token still names counts as dead from then on.
extern "C" fn remove_own_file() {
    if let Some(Ok((token, _))) = OWNER.get() {
        let _ = fs::remove_file(lock_path(token));
    }
}

fn lock_path(token: &str) -> PathBuf {
    std::env::temp_dir().join(format!("{PREFIX}{token}{SUFFIX}"))
}

/// This process's token (16 lower-case hex digits). Its lock file is
/// created and locked on first use, before the token names anything.
///
/// # Errors
/// The lock file cannot be created (the text says why).
pub(crate) fn own_token() -> Result<&'static str, String> {
    OWNER
        .get_or_init(|| {
            let token = format!("{:016x}", rand::random::<u64>());
            let file = lock_file::create_locked(&lock_path(&token))
                .map_err(|e| format!("create the owner lock file: {e}"))?;
            crate::sys::at_exit(remove_own_file);
            Ok((token, file))
        })
        .as_ref()
        .map(|(token, _)| token.as_str())
        .map_err(Clone::clone)
}

/// Whether the process that owns `token` still runs. Its lock file is
/// created before anything is named after the token, so a missing file
/// means the owner is gone too.
pub(crate) fn token_alive(token: &str) -> bool {
    matches!(lock_file::probe(&lock_path(token)), LockState::Held)
}

/// Removes the lock files of owners that have ended (call after sweeping
/// what they owned).
pub(crate) fn remove_dead_owner_files() {
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(PREFIX) && name.ends_with(SUFFIX) {
            if let LockState::Free(_held) = lock_file::probe(&entry.path()) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}
