//! A throwaway local PostgreSQL cluster, started from the installed server
//! binaries, for tests and examples that run without `DATABASE_URL`.
//!
//! The cluster lives in a fresh temporary directory, listens on a Unix
//! socket inside its own data directory only (no TCP port), runs with fsync
//! off, and writes its log to `server.log` in that directory (never to an
//! unread pipe, which would freeze the server once full). It preloads
//! `pg_stat_statements` when the library is installed, so a test can
//! `CREATE EXTENSION pg_stat_statements`.
//!
//! Cleanup does not rely on `Drop`, which does not run on `SIGKILL` or when
//! the Rust test harness exits: a small watchdog process (`sh`) holds the read
//! end of a pipe whose write end only this process holds. When this process
//! ends, however it ends, the pipe closes, and the watchdog stops the server
//! and removes the directory. At normal exit (and on `Drop`) we close the pipe
//! ourselves and wait for the watchdog, so nothing is left running when the
//! process returns. Clusters left by a crashed run (for example a machine that
//! lost power) are swept the next time a cluster starts: every live cluster's
//! owner holds an exclusive lock on `owner.lock` in its directory, and the
//! sweeper removes only directories whose lock it can take.
//!
//! As root, `initdb` refuses to run: the server then runs as the unprivileged
//! `postgres` system user (or `SAAS_DB_PG_USER`). The binaries are taken from
//! `SAAS_DB_PG_BIN`, else the newest `/usr/lib/postgresql/*/bin`, else `PATH`.
//! Unix only: elsewhere [`EmbeddedPostgres::start`] returns
//! [`EmbeddedError::Unsupported`]. [`TestDatabase`](crate::TestDatabase)
//! uses one cluster shared by every test process of a run instead, kept by
//! a keeper process rather than a watchdog (`embedded/shared.rs`).

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection};

use crate::lock_file;
use crate::sys::{self, RunAs, Signal};
use crate::watchdog::Watchdog;

mod error;
mod host;
mod replica;
mod shared;
mod text;

pub(crate) use error::io;
pub use error::EmbeddedError;
pub(crate) use host::server_user;
use host::{find_bin_dir, sweep_stale_clusters, LOCK_FILE};
pub use replica::EmbeddedReplica;
pub(crate) use shared::shared_server;
pub(crate) use text::{percent_encode, tail};

/// Prefix of the temporary directories, used to find stale ones. Versions
/// that judged liveness by `/proc` used `saas-db-pg-`: a prefix of its own
/// keeps the two sweepers from ever removing each other's live clusters.
const DIR_PREFIX: &str = "saas-db-cluster-";
const READY_DEADLINE: Duration = Duration::from_secs(30);

/// The end of every cluster's life, run by its watchdog (or the shared
/// cluster's keeper): stops the server (fast, then immediate, then kill) and
/// removes the directory. `$1` is the cluster root, `$2` the data directory.
const STOP_AND_REMOVE: &str = r#"
pid=$(head -n 1 "$2/postmaster.pid" 2>/dev/null)
if [ -n "$pid" ]; then
  for sig in INT QUIT KILL; do
    kill -s "$sig" "$pid" 2>/dev/null || break
    i=0
    # A clean shutdown removes the pid file; the process itself may linger as
    # our zombie until our process exits, so the file is what we watch.
    while [ -e "$2/postmaster.pid" ] && kill -0 "$pid" 2>/dev/null && [ "$i" -lt 50 ]; do
      sleep 0.1; i=$((i+1))
    done
    { [ -e "$2/postmaster.pid" ] && kill -0 "$pid" 2>/dev/null; } || break
  done
fi
rm -rf "$1"
"#;

/// The watchdog waits for EOF on stdin (our death or our explicit close).
const WATCHDOG_WAIT: &str = "cat >/dev/null";

/// A running throwaway PostgreSQL cluster. Stopped and deleted on drop, at
/// process exit, or when the process dies.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    root: PathBuf,
    data: PathBuf,
    url: String,
    bin: PathBuf,
    run_as: RunAs,
    /// None for the shared cluster, which its keeper stops instead.
    watchdog: Mutex<Option<Watchdog>>,
    server: Mutex<Option<Child>>,
    /// The server in a process group of its own (the shared cluster, which
    /// a Ctrl-C of one test run must not stop under another).
    own_group: bool,
    /// Held for the life of this value: tells sweepers the cluster is live.
    _lock: File,
}

impl EmbeddedPostgres {
    /// Starts a new cluster in a fresh temporary directory and waits until it
    /// accepts connections.
    ///
    /// # Errors
    /// [`EmbeddedError`] when the binaries are missing, `initdb` fails or the
    /// server does not become ready within 30 s (the error carries the log tail).
    pub fn start() -> Result<Self, EmbeddedError> {
        let pg = Self::new_cluster()?;
        pg.initdb()?;
        let server = pg.spawn_server()?;
        *pg.server.lock().unwrap_or_else(|e| e.into_inner()) = Some(server);
        Ok(pg)
    }

    /// A fresh, empty, watched cluster directory (no data yet, no server).
    fn new_cluster() -> Result<Self, EmbeddedError> {
        let pg = Self::new_unwatched_cluster()?;
        let watchdog = Watchdog::watch(pg.spawn_watcher(
            WATCHDOG_WAIT,
            Stdio::piped(),
            Stdio::null(),
            &[],
        )?)?;
        *pg.watchdog.lock().unwrap_or_else(|e| e.into_inner()) = Some(watchdog);
        Ok(pg)
    }

    /// A fresh, empty cluster directory that nothing watches yet.
    fn new_unwatched_cluster() -> Result<Self, EmbeddedError> {
        if !cfg!(unix) {
            return Err(EmbeddedError::Unsupported);
        }
        sweep_stale_clusters();
        let bin = find_bin_dir()?;
        let run_as = server_user()?;

        let root = std::env::temp_dir().join(format!(
            "{DIR_PREFIX}{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
        ));
        fs::create_dir(&root).map_err(io("create cluster directory"))?;
        let lock = lock_file::create_locked(&root.join(LOCK_FILE))
            .map_err(io("create the cluster's lock file"))?;
        sys::set_mode(&root, 0o711).map_err(io("set cluster directory permissions"))?;
        let data = root.join("data");
        fs::create_dir(&data).map_err(io("create data directory"))?;
        sys::set_mode(&data, 0o700).map_err(io("set data directory permissions"))?;
        sys::chown(&data, run_as).map_err(io("hand the data directory to the server user"))?;
        Ok(EmbeddedPostgres {
            url: url_of(&data),
            watchdog: Mutex::new(None),
            server: Mutex::new(None),
            own_group: false,
            root,
            data,
            bin,
            run_as,
            _lock: lock,
        })
    }

    /// `DATABASE_URL` when it is set, else the URL of a freshly started
    /// cluster, which is returned too: keep it alive as long as it is used.
    ///
    /// # Errors
    /// As [`EmbeddedPostgres::start`].
    pub fn url_or_start() -> Result<(String, Option<EmbeddedPostgres>), EmbeddedError> {
        match std::env::var("DATABASE_URL") {
            Ok(url) if !url.is_empty() => Ok((url, None)),
            _ => {
                let pg = EmbeddedPostgres::start()?;
                Ok((pg.url().to_owned(), Some(pg)))
            }
        }
    }

    /// The one cluster of this process, started on first use and stopped when
    /// the process exits (also when a test panics or the process is killed).
    ///
    /// # Errors
    /// The start error, as text, on this and every later call.
    pub fn shared() -> Result<&'static EmbeddedPostgres, String> {
        static SHARED: OnceLock<Result<EmbeddedPostgres, String>> = OnceLock::new();
        extern "C" fn stop_shared_at_exit() {
            if let Some(Ok(pg)) = SHARED.get() {
                pg.shutdown();
            }
        }
        SHARED
            .get_or_init(|| {
                let pg = EmbeddedPostgres::start().map_err(|e| e.to_string())?;
                sys::at_exit(stop_shared_at_exit);
                Ok(pg)
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Connection URL of the `postgres` database as the superuser `postgres`
    /// (a libpq URI with the socket directory in `host=`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Connection string for another database on this cluster.
    pub fn url_for(&self, database: &str) -> String {
        crate::url::url_with_database(&self.url, database)
    }

    /// The server log file.
    pub fn log_path(&self) -> PathBuf {
        self.root.join("server.log")
    }

    /// Stops the server (fast shutdown) and starts it again on the same data,
    /// as an operator restarting PostgreSQL would; existing connections break.
    ///
    /// # Errors
    /// [`EmbeddedError::NotReady`] if it does not come back.
    pub fn restart(&self) -> Result<(), EmbeddedError> {
        let mut server = self.server.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(mut child) = server.take() {
            // The postmaster we started (our child, not yet reaped).
            sys::signal(child.id(), Signal::Interrupt);
            child.wait().map_err(io("wait for the server to stop"))?;
        }
        *server = Some(self.spawn_server()?);
        Ok(())
    }

    /// Stops the server and removes its directory; waits for both. Safe to
    /// call more than once.
    pub fn shutdown(&self) {
        let Ok(mut guard) = self.watchdog.try_lock() else {
            return;
        };
        if let Some(watchdog) = guard.take() {
            watchdog.stop();
        }
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bin.join(program));
        cmd.current_dir(&self.root).stdin(Stdio::null());
        sys::run_as(&mut cmd, self.run_as);
        cmd
    }

    fn initdb(&self) -> Result<(), EmbeddedError> {
        let log_path = self.root.join("initdb.log");
        let log = File::create(&log_path).map_err(io("create initdb log"))?;
        let status = self
            .command("initdb")
            .arg("-D")
            .arg(&self.data)
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .stdout(log.try_clone().map_err(io("initdb log"))?)
            .stderr(log)
            .status()
            .map_err(io("run initdb"))?;
        if status.success() {
            Ok(())
        } else {
            Err(EmbeddedError::Initdb(tail(&log_path, 30)))
        }
    }

    fn spawn_server(&self) -> Result<Child, EmbeddedError> {
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.log_path())
            .map_err(io("open server log"))?;
        let socket_dir = format!("unix_socket_directories={}", self.data.display());
        let mut cmd = self.command("postgres");
        if self.own_group {
            sys::own_process_group(&mut cmd);
        }
        let mut child = cmd
            .arg("-D")
            .arg(&self.data)
            .args(["-c", "listen_addresses="])
            .args(["-c", &socket_dir])
            .args(["-c", "port=5432"])
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off"])
            .args(["-c", "max_connections=300"])
            .args(["-c", "lc_messages=C"])
            .args(self.preload())
            .stdout(log.try_clone().map_err(io("server log"))?)
            .stderr(log)
            .spawn()
            .map_err(io("start postgres"))?;
        let deadline = Instant::now() + READY_DEADLINE;
        let mut last_error = String::from("no attempt made");
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(self.not_ready(format!("server exited with {status}")));
            }
            match PgConnection::establish(&self.url) {
                Ok(_) => return Ok(child),
                Err(e) => last_error = e.to_string(),
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let _ = child.kill();
        Err(self.not_ready(format!(
            "no connection within {READY_DEADLINE:?}; last error: {last_error}"
        )))
    }

    /// Loads `pg_stat_statements` when it is installed beside the binaries,
    /// so `CREATE EXTENSION` works (for `slow_queries`, and the secret scan).
    fn preload(&self) -> Vec<&'static str> {
        let lib = self.bin.with_file_name("lib");
        if lib.join("pg_stat_statements.so").exists() {
            vec!["-c", "shared_preload_libraries=pg_stat_statements"]
        } else {
            Vec::new()
        }
    }

    /// Starts `sh` running `wait`, then [`STOP_AND_REMOVE`] on this
    /// cluster, as `saas-db-watchdog <root> <data> <args>..` (so `ps` shows
    /// it), in a process group of its own: a Ctrl-C aimed at the test run
    /// must not stop it before it has cleaned up.
    fn spawn_watcher(
        &self,
        wait: &str,
        stdin: Stdio,
        stdout: Stdio,
        args: &[&str],
    ) -> Result<Child, EmbeddedError> {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!("{wait}\n{STOP_AND_REMOVE}"))
            .arg("saas-db-watchdog")
            .arg(&self.root)
            .arg(&self.data)
            .args(args)
            .stdin(stdin)
            .stdout(stdout)
            .stderr(Stdio::null());
        sys::own_process_group(&mut cmd);
        cmd.spawn().map_err(io("start watchdog"))
    }

    fn not_ready(&self, reason: String) -> EmbeddedError {
        EmbeddedError::NotReady {
            reason,
            log_tail: tail(&self.log_path(), 30),
        }
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The superuser URL of a cluster whose socket is in `data`.
fn url_of(data: &Path) -> String {
    format!(
        "postgresql://postgres@/postgres?host={}&port=5432",
        percent_encode(&data.to_string_lossy())
    )
}
