//! One throwaway cluster for every test binary of a run (and for the runs
//! that follow within a few seconds), instead of one per process.
//!
//! Who uses it is counted by the kernel, not by files we would have to keep
//! right: the cluster directory holds a FIFO, `clients.fifo`, that every
//! process using the cluster keeps open for writing for as long as it runs,
//! closed by the operating system however the process ends (`SIGKILL`
//! included). The cluster's keeper, a small `sh` process of its own (its
//! own process group, like the watchdog of a private cluster), holds the
//! read end: reading it returns end-of-file once no client holds it. The
//! keeper then waits `SAAS_DB_SERVER_LINGER` seconds (default 2), so that
//! `cargo test`, which runs its test binaries one after another, hands the
//! cluster from one binary to the next; every client writes one byte when it
//! attaches, which tells the keeper somebody came. When nobody came, it
//! removes the FIFO (no process can attach any more), waits for a process
//! that attached just before, stops the server and removes the directory.
//!
//! Processes find the cluster through `saas-db-shared-<uid>` in the
//! temporary directory, a file naming the cluster directory, read and written
//! under the lock of `saas-db-shared-<uid>.lock` (so two binaries starting at
//! once start one cluster). A process that cannot open the FIFO for writing
//! (gone, or nobody reads it) starts a new cluster. If the keeper itself is
//! killed, nothing stops the server; the cluster's `owner.lock`, which the
//! keeper holds (it is the keeper's stdout), is then free, and the next start
//! of any throwaway cluster sweeps it, as it sweeps a private one.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;

use super::{io, url_of, EmbeddedError, EmbeddedPostgres, LOCK_FILE};
use crate::lock_file::{self, LockState};
use crate::sys;

const FIFO: &str = "clients.fifo";
const DEFAULT_LINGER_SECS: f64 = 2.0;

/// The keeper's wait (`$3` is the linger in seconds, stdin the FIFO):
/// until no client is left, then until nobody came during a linger, then
/// until a client that opened the FIFO before it was removed is gone.
/// `$(cat)` blocks while a client is attached and returns the bytes that
/// clients wrote since the last read.
const KEEPER_WAIT: &str = r#"
cat >/dev/null
while :; do
  sleep "$3"
  [ -n "$(cat)" ] || break
done
rm -f "$1/clients.fifo"
cat >/dev/null"#;

/// A process's use of the shared cluster; it lasts as long as the process.
#[derive(Debug)]
pub(crate) struct SharedServer {
    root: PathBuf,
    url: String,
    /// The write end of the cluster's FIFO: this process's membership.
    _client: File,
    /// The cluster, in the process that started it (never dropped: statics
    /// are not, and it has no watchdog; the keeper stops it).
    _started: Option<EmbeddedPostgres>,
}

impl SharedServer {
    /// The superuser URL of the `postgres` database.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// The server log.
    pub(crate) fn log_path(&self) -> PathBuf {
        self.root.join("server.log")
    }
}

/// The shared cluster, attached to (or started) on first use.
///
/// # Errors
/// The start error, as text, on this and every later call.
pub(crate) fn shared_server() -> Result<&'static SharedServer, String> {
    static SHARED: OnceLock<Result<SharedServer, String>> = OnceLock::new();
    SHARED
        .get_or_init(|| attach_or_start().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(Clone::clone)
}

fn attach_or_start() -> Result<SharedServer, EmbeddedError> {
    if !cfg!(unix) {
        return Err(EmbeddedError::Unsupported);
    }
    let pointer = std::env::temp_dir().join(format!("saas-db-shared-{}", sys::user_id()));
    let guard = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(pointer.with_extension("lock"))
        .map_err(io("open the shared cluster's lock file"))?;
    guard
        .lock()
        .map_err(io("lock the shared cluster's lock file"))?;
    if let Some(attached) = fs::read_to_string(&pointer)
        .ok()
        .and_then(|root| attach(Path::new(root.trim())))
    {
        return Ok(attached);
    }
    let started = start()?;
    let staging = pointer.with_extension("new");
    fs::write(&staging, started.root.as_os_str().as_encoded_bytes())
        .and_then(|()| fs::rename(&staging, &pointer))
        .map_err(io("name the shared cluster"))?;
    Ok(started)
}

/// Joins the cluster in `root` if its keeper still takes clients.
fn attach(root: &Path) -> Option<SharedServer> {
    // Nobody holds the cluster's lock when its keeper was killed (and its
    // starter ended): nobody would stop it. Not joined; the start of a new
    // cluster sweeps it.
    if !matches!(lock_file::probe(&root.join(LOCK_FILE)), LockState::Held) {
        return None;
    }
    let mut client = sys::open_fifo(&root.join(FIFO), true).ok()?;
    client.write_all(b"+").ok()?;
    Some(SharedServer {
        root: root.to_owned(),
        url: url_of(&root.join("data")),
        _client: client,
        _started: None,
    })
}

/// A new cluster with its keeper; this process is its first client.
fn start() -> Result<SharedServer, EmbeddedError> {
    let mut pg = EmbeddedPostgres::new_unwatched_cluster()?;
    pg.own_group = true;
    let fifo = pg.root.join(FIFO);
    sys::make_fifo(&fifo).map_err(io("create the clients FIFO"))?;
    // Both ends before the keeper starts, so its first read waits for us.
    let keeper_end = sys::open_fifo(&fifo, false).map_err(io("open the clients FIFO"))?;
    let mut client = sys::open_fifo(&fifo, true).map_err(io("open the clients FIFO"))?;
    let lock = pg
        ._lock
        .try_clone()
        .map_err(io("share the cluster's lock"))?;
    let linger = linger_secs().to_string();
    // From here on a failure leaves the cleanup to the keeper: our end of
    // the FIFO closes with the error.
    pg.spawn_watcher(
        KEEPER_WAIT,
        keeper_end.into(),
        Stdio::from(lock),
        &[&linger],
    )?;
    client
        .write_all(b"+")
        .map_err(io("attach to the shared cluster"))?;
    pg.initdb()?;
    let server = pg.spawn_server()?;
    *pg.server.lock().unwrap_or_else(|e| e.into_inner()) = Some(server);
    Ok(SharedServer {
        root: pg.root.clone(),
        url: pg.url.clone(),
        _client: client,
        _started: Some(pg),
    })
}

/// `SAAS_DB_SERVER_LINGER` (seconds, 0 to 600) or the default.
fn linger_secs() -> f64 {
    std::env::var("SAAS_DB_SERVER_LINGER")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| (0.0..=600.0).contains(s))
        .unwrap_or(DEFAULT_LINGER_SECS)
}
