//! A throwaway PgBouncer in `pool_mode=transaction` in front of a running
//! PostgreSQL, for tests and examples that must behave as they would behind
//! a production transaction-mode pooler.
//!
//! It uses Debian's `pgbouncer` binary (`/usr/sbin/pgbouncer`, or
//! `SAAS_DB_PGBOUNCER`), with its own config, log file, pid file and Unix
//! socket in a fresh temporary directory (no TCP port), `auth_type=trust`
//! (the roles that may log in when it starts are written to its `auth_file`),
//! and every database of the server reachable under its own name. As root it
//! runs as the `postgres` system user (or `SAAS_DB_PG_USER`), like
//! [`EmbeddedPostgres`](crate::EmbeddedPostgres). Unix only, like it.
//!
//! Cleanup is the throwaway server's: a watchdog process waits for this
//! process to close a pipe (at drop, at exit, or because it died, even by
//! `SIGKILL`), then stops PgBouncer and removes the directory.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};

use crate::embedded::{io, percent_encode, server_user, tail, EmbeddedError};
use crate::sys::{self, RunAs};
use crate::watchdog::Watchdog;

/// Prefix of the temporary directories.
const DIR_PREFIX: &str = "saas-db-pgbouncer-";
const READY_DEADLINE: Duration = Duration::from_secs(30);
/// Port number in the socket's name (`.s.PGSQL.6432`); no TCP is opened.
const PORT: u16 = 6432;

/// The watchdog: waits for EOF on stdin, then stops PgBouncer (immediate
/// shutdown, then kill) and removes the directory (`$1`).
const WATCHDOG: &str = r#"
cat >/dev/null
pid=$(cat "$1/pgbouncer.pid" 2>/dev/null)
if [ -n "$pid" ]; then
  for sig in TERM KILL; do
    kill -s "$sig" "$pid" 2>/dev/null || break
    i=0
    # PgBouncer removes its pid file on exit; the process may linger as our
    # zombie until our process exits, so the file is what we watch.
    while [ -e "$1/pgbouncer.pid" ] && kill -0 "$pid" 2>/dev/null && [ "$i" -lt 50 ]; do
      sleep 0.1; i=$((i+1))
    done
    { [ -e "$1/pgbouncer.pid" ] && kill -0 "$pid" 2>/dev/null; } || break
  done
fi
rm -rf "$1"
"#;

/// A running throwaway PgBouncer. Stopped and deleted on drop, at process
/// exit, or when the process dies.
#[derive(Debug)]
pub struct EmbeddedPgBouncer {
    root: PathBuf,
    url: String,
    watchdog: Mutex<Option<Watchdog>>,
    server: Mutex<Option<Child>>,
}

/// Where PgBouncer reaches the server, asked of the server itself.
#[derive(QueryableByName)]
struct Upstream {
    #[diesel(sql_type = Nullable<Text>)]
    tcp_host: Option<String>,
    #[diesel(sql_type = Text)]
    socket_dir: String,
    #[diesel(sql_type = Text)]
    port: String,
    #[diesel(sql_type = Text)]
    user_name: String,
    #[diesel(sql_type = Text)]
    database: String,
}

#[derive(QueryableByName)]
struct LoginRole {
    #[diesel(sql_type = Text)]
    rolname: String,
}

impl EmbeddedPgBouncer {
    /// Starts PgBouncer in front of the server `url` points to (any libpq
    /// URL, such as [`EmbeddedPostgres::url`](crate::EmbeddedPostgres::url)),
    /// with `pool_size` server connections per database and user, and waits
    /// until a query passes through it.
    ///
    /// # Errors
    /// [`EmbeddedError::Unsupported`] on a system that is not Unix,
    /// [`EmbeddedError::BinariesNotFound`] without the `pgbouncer` binary,
    /// [`EmbeddedError::NoServerUser`] as root without the `postgres` user,
    /// [`EmbeddedError::NotReady`] when the server cannot be reached or
    /// PgBouncer does not pass a query within 30 s (with its log tail),
    /// [`EmbeddedError::Io`].
    pub fn start(url: &str, pool_size: u32) -> Result<Self, EmbeddedError> {
        if !cfg!(unix) {
            return Err(EmbeddedError::Unsupported);
        }
        let bin = std::env::var_os("SAAS_DB_PGBOUNCER")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/sbin/pgbouncer"));
        if !bin.exists() {
            return Err(EmbeddedError::BinariesNotFound(format!(
                "no pgbouncer at {} (apt-get install pgbouncer, or set SAAS_DB_PGBOUNCER)",
                bin.display()
            )));
        }
        let run_as = server_user()?;
        let (upstream, roles) = upstream(url)?;

        let root = std::env::temp_dir().join(format!(
            "{DIR_PREFIX}{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
        ));
        fs::create_dir(&root).map_err(io("create pgbouncer directory"))?;
        // The watchdog first: from here on the directory is removed however we end.
        let watchdog = spawn_watchdog(&root)?;
        let host = upstream.tcp_host.unwrap_or(upstream.socket_dir);
        let config = format!(
            "[databases]\n* = host={host} port={port}\n\n[pgbouncer]\n\
             listen_addr =\nlisten_port = {PORT}\nunix_socket_dir = {dir}\n\
             auth_type = trust\nauth_file = {dir}/users.txt\n\
             pool_mode = transaction\ndefault_pool_size = {pool_size}\n\
             min_pool_size = 0\nreserve_pool_size = 0\nmax_client_conn = 1000\n\
             max_db_connections = 0\nserver_reset_query =\n\
             ignore_startup_parameters = extra_float_digits\n\
             logfile = {dir}/pgbouncer.log\npidfile = {dir}/pgbouncer.pid\n",
            port = upstream.port,
            dir = root.display(),
        );
        fs::write(root.join("pgbouncer.ini"), config).map_err(io("write pgbouncer.ini"))?;
        let users: String = roles
            .iter()
            .map(|r| format!("\"{}\" \"\"\n", r.replace('"', "\"\"")))
            .collect();
        fs::write(root.join("users.txt"), users).map_err(io("write auth_file"))?;
        for path in [
            root.clone(),
            root.join("pgbouncer.ini"),
            root.join("users.txt"),
        ] {
            sys::chown(&path, run_as)
                .map_err(io("hand the pgbouncer directory to the server user"))?;
        }
        sys::set_mode(&root, 0o755).map_err(io("set pgbouncer directory permissions"))?;

        let url = format!(
            "postgresql://{}@/{}?host={}&port={PORT}",
            percent_encode(&upstream.user_name),
            percent_encode(&upstream.database),
            percent_encode(&root.to_string_lossy())
        );
        let bouncer = EmbeddedPgBouncer {
            root,
            url,
            watchdog: Mutex::new(Some(watchdog)),
            server: Mutex::new(None),
        };
        let child = bouncer.spawn(&bin, run_as)?;
        *bouncer.server.lock().unwrap_or_else(|e| e.into_inner()) = Some(child);
        Ok(bouncer)
    }

    /// Connection URL through PgBouncer, as the user and database of the URL
    /// it was started with.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Connection URL through PgBouncer for another database of the server.
    pub fn url_for(&self, database: &str) -> String {
        crate::url::url_with_database(&self.url, database)
    }

    /// The PgBouncer log file.
    pub fn log_path(&self) -> PathBuf {
        self.root.join("pgbouncer.log")
    }

    /// Stops PgBouncer and removes its directory; waits for both. Safe to
    /// call more than once.
    pub fn shutdown(&self) {
        let Ok(mut guard) = self.watchdog.try_lock() else {
            return;
        };
        if let Some(watchdog) = guard.take() {
            watchdog.stop();
        }
        if let Some(mut server) = self.server.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = server.try_wait();
        }
    }

    fn spawn(&self, bin: &Path, run_as: RunAs) -> Result<Child, EmbeddedError> {
        let mut cmd = Command::new(bin);
        cmd.arg(self.root.join("pgbouncer.ini"))
            .current_dir(&self.root)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        sys::run_as(&mut cmd, run_as);
        let mut child = cmd.spawn().map_err(io("start pgbouncer"))?;
        let deadline = Instant::now() + READY_DEADLINE;
        let mut last_error = String::from("no attempt made");
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(self.not_ready(format!("pgbouncer exited with {status}")));
            }
            match PgConnection::establish(&self.url)
                .map_err(|e| e.to_string())
                .and_then(|mut c| {
                    diesel::sql_query("SELECT 1")
                        .execute(&mut c)
                        .map_err(|e| e.to_string())
                }) {
                Ok(_) => return Ok(child),
                Err(e) => last_error = e,
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let _ = child.kill();
        Err(self.not_ready(format!(
            "no query through it within {READY_DEADLINE:?}; last error: {last_error}"
        )))
    }

    fn not_ready(&self, reason: String) -> EmbeddedError {
        EmbeddedError::NotReady {
            reason,
            log_tail: tail(&self.log_path(), 30),
        }
    }
}

impl Drop for EmbeddedPgBouncer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The server's address as it sees it (its TCP address, or its first socket
/// directory when `url` came over a socket), and the roles that may log in.
fn upstream(url: &str) -> Result<(Upstream, Vec<String>), EmbeddedError> {
    let fail = |e: String| EmbeddedError::NotReady {
        reason: format!("cannot reach the server behind pgbouncer: {e}"),
        log_tail: String::new(),
    };
    let mut conn = PgConnection::establish(url).map_err(|e| fail(e.to_string()))?;
    let up = diesel::sql_query(
        "SELECT host(inet_server_addr()) AS tcp_host, \
                trim(split_part(current_setting('unix_socket_directories'), ',', 1)) AS socket_dir, \
                current_setting('port') AS port, current_user::text AS user_name, \
                current_database()::text AS database",
    )
    .get_result::<Upstream>(&mut conn)
    .map_err(|e| fail(e.to_string()))?;
    let roles = diesel::sql_query("SELECT rolname::text FROM pg_roles WHERE rolcanlogin")
        .load::<LoginRole>(&mut conn)
        .map_err(|e| fail(e.to_string()))?;
    Ok((up, roles.into_iter().map(|r| r.rolname).collect()))
}

fn spawn_watchdog(root: &Path) -> Result<Watchdog, EmbeddedError> {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(WATCHDOG)
        .arg("saas-db-pgbouncer-watchdog")
        .arg(root)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    Watchdog::spawn(cmd, "start pgbouncer watchdog")
}
