//! The watchdog both throwaway servers (PostgreSQL and PgBouncer) rely on: a
//! `sh` process, in a process group of its own, that waits for EOF on its
//! stdin and then stops the server and removes its directory. We hold the
//! write end of that pipe; however this process ends, the pipe closes.

use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use crate::embedded::{io, EmbeddedError};
use crate::sys;

/// How long [`Watchdog::stop`] waits for the cleanup to finish.
const STOP_WAIT: Duration = Duration::from_secs(20);

/// A running watchdog and the write end of its stdin.
#[derive(Debug)]
pub(crate) struct Watchdog {
    child: Child,
    stdin: ChildStdin,
}

impl Watchdog {
    /// Starts `cmd` (an `sh -c <script> ..` whose script first waits for
    /// EOF on stdin) with a piped stdin, in a process group of its own: a
    /// Ctrl-C aimed at the test run must not stop it before it has cleaned
    /// up.
    pub(crate) fn spawn(mut cmd: Command, what: &'static str) -> Result<Self, EmbeddedError> {
        cmd.stdin(Stdio::piped());
        sys::own_process_group(&mut cmd);
        Self::watch(cmd.spawn().map_err(io(what))?)
    }

    /// Takes over an already started watchdog whose stdin is piped.
    pub(crate) fn watch(mut child: Child) -> Result<Self, EmbeddedError> {
        let stdin = child.stdin.take().ok_or_else(|| EmbeddedError::NotReady {
            reason: "the watchdog's stdin is not piped".into(),
            log_tail: String::new(),
        })?;
        Ok(Watchdog { child, stdin })
    }

    /// Closes the pipe, so the watchdog cleans up, and waits (at most
    /// [`STOP_WAIT`]) until it has.
    pub(crate) fn stop(self) {
        let Watchdog { mut child, stdin } = self;
        drop(stdin);
        let deadline = Instant::now() + STOP_WAIT;
        while Instant::now() < deadline {
            match child.try_wait() {
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                _ => break,
            }
        }
    }
}
