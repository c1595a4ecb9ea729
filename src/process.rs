//! Identifies processes by pid and start time, so that resources named after
//! a process (throwaway clusters, test databases) can be swept once their
//! owner is gone, without mistaking a recycled pid for the owner.

use std::fs;

/// `pid` plus its start time, so a recycled pid is not mistaken for the owner.
pub(crate) fn owner_stamp(pid: u32) -> Option<String> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces; fields after the last ')' are fixed.
    let after = &stat[stat.rfind(')')? + 2..];
    let start_time = after.split_whitespace().nth(19)?;
    Some(format!("{pid} {start_time}"))
}

/// Whether the process that wrote `stamp` is still running.
pub(crate) fn stamp_alive(stamp: &str) -> bool {
    let Some(pid) = stamp.split_whitespace().next().and_then(|p| p.parse().ok()) else {
        return false;
    };
    owner_stamp(pid).as_deref() == Some(stamp.trim())
}

/// `pid` and start time of this process, as written to owner files.
pub(crate) fn own_stamp() -> String {
    owner_stamp(std::process::id()).unwrap_or_else(|| std::process::id().to_string())
}
