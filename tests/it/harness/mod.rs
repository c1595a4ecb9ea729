//! The test harness itself (saas-db-testing), as a host application uses
//! it: `TestDatabase` in the host's schema with the host's migrations, its
//! error messages, and the throwaway server shared by the test binaries
//! (tested with real processes: children running this test binary).

mod messages;
mod setup;
mod shared_server;

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

/// The variable that tells a child what to do.
const ROLE: &str = "SAAS_DB_HARNESS_CHILD";

/// A child process running one ignored test of this binary, with its
/// stdout lines as they come and its stderr at the end.
pub(crate) struct ChildTest {
    child: std::process::Child,
    lines: Receiver<String>,
    stderr: std::thread::JoinHandle<String>,
}

impl ChildTest {
    /// Runs `test` (an ignored test of this binary) with `ROLE=how` and
    /// `envs`, without `DATABASE_URL` unless `envs` sets it.
    pub(crate) fn spawn(test: &str, how: &str, envs: &[(&str, &str)]) -> ChildTest {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args([
            "--exact",
            test,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ROLE, how)
        .env_remove("DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        for (key, value) in envs {
            cmd.env(key, value);
        }
        let mut child = cmd.spawn().unwrap();
        // Keep draining both pipes: a full pipe would stall the child.
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut stderr = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        ChildTest {
            child,
            lines,
            stderr,
        }
    }

    /// What follows `prefix` on the first line that has it (waits up to
    /// three minutes: the first child of a run starts a server and builds
    /// the template, on a machine busy with the other tests).
    pub(crate) fn line(&mut self, prefix: &str) -> String {
        loop {
            let Ok(line) = self.lines.recv_timeout(Duration::from_secs(180)) else {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let stderr = std::mem::replace(&mut self.stderr, std::thread::spawn(String::new));
                panic!(
                    "the child printed no {prefix:?} line; its stderr:\n{}",
                    stderr.join().unwrap()
                );
            };
            // The harness may have printed `test <name> ... ` before it.
            if let Some(at) = line.find(prefix) {
                return line[at + prefix.len()..].to_owned();
            }
        }
    }

    /// Lets the child end normally (it waits for its stdin to close) and
    /// returns whether it succeeded and its stderr.
    pub(crate) fn finish(mut self) -> (bool, String) {
        drop(self.child.stdin.take());
        let ok = self.child.wait().unwrap().success();
        (ok, self.stderr.join().unwrap())
    }

    /// SIGKILL: no destructor, no `atexit`.
    pub(crate) fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

/// A fresh temporary directory for children (`TMPDIR`), so their servers,
/// lock files and sweeps are theirs alone; traversable by the `postgres`
/// user, as the servers run as that user when the tests run as root. It is
/// a short path directly in `/tmp`, not in `TMPDIR`: a server's socket path
/// (`<dir>/saas-db-cluster-<pid>-<n>/data/.s.PGSQL.5432`) must stay under
/// 108 bytes, and `.ci/run`'s own `TMPDIR` is already long.
pub(crate) fn private_tmp() -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = PathBuf::from(format!("/tmp/sdb-{:08x}", rand::random::<u32>()));
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o711)).unwrap();
    dir
}
