//! A throwaway streaming replica of a throwaway primary, for tests of
//! replica routing.
//!
//! [`EmbeddedReplica::start_from`] copies the primary with
//! `pg_basebackup -R -X stream -c fast` (as the server user when we are
//! root) into a fresh cluster directory of its own, then starts it as a hot
//! standby that streams from the primary over the primary's Unix socket. The
//! replica has its own socket directory (its data directory, no TCP port)
//! and its own `server.log`, and the same cleanup guarantees as
//! [`EmbeddedPostgres`]: its own watchdog stops it and removes its directory
//! on drop, at exit, on panic or when this process is killed.
//!
//! The primary needs nothing beyond what the embedded server already has:
//! PostgreSQL's defaults are `wal_level=replica` and `max_wal_senders=10`,
//! and `initdb -A trust` allows local replication connections.

use std::fs::File;
use std::path::PathBuf;

use super::{io, tail, EmbeddedError, EmbeddedPostgres};
use crate::sys::{self, Signal};

/// A running hot standby streaming from an [`EmbeddedPostgres`]. Stopped
/// and deleted on drop, at process exit, or when the process dies.
#[derive(Debug)]
pub struct EmbeddedReplica {
    cluster: EmbeddedPostgres,
}

impl EmbeddedReplica {
    /// Takes a base backup of `primary` and starts it as a streaming hot
    /// standby; returns once the standby accepts connections.
    ///
    /// # Errors
    /// [`EmbeddedError::BaseBackup`] when `pg_basebackup` fails (with the end
    /// of its output), and the errors of [`EmbeddedPostgres::start`].
    pub fn start_from(primary: &EmbeddedPostgres) -> Result<Self, EmbeddedError> {
        let cluster = EmbeddedPostgres::new_cluster()?;
        let log_path = cluster.root.join("basebackup.log");
        let log = File::create(&log_path).map_err(io("create pg_basebackup log"))?;
        let source = format!(
            "host={} port=5432 user=postgres application_name=saas_db_replica",
            primary.data.display()
        );
        let status = cluster
            .command("pg_basebackup")
            .arg("-D")
            .arg(&cluster.data)
            .args(["-R", "-X", "stream", "-c", "fast", "--no-sync", "-d"])
            .arg(&source)
            .stdout(log.try_clone().map_err(io("pg_basebackup log"))?)
            .stderr(log)
            .status()
            .map_err(io("run pg_basebackup"))?;
        if !status.success() {
            return Err(EmbeddedError::BaseBackup(tail(&log_path, 30)));
        }
        // The primary's socket lives in its data directory, so the copy holds
        // the primary's socket lock file, which would stop the replica.
        let _ = std::fs::remove_file(cluster.data.join(".s.PGSQL.5432.lock"));
        let server = cluster.spawn_server()?;
        *cluster.server.lock().unwrap_or_else(|e| e.into_inner()) = Some(server);
        Ok(EmbeddedReplica { cluster })
    }

    /// Connection URL of the replica's `postgres` database as `postgres`.
    pub fn url(&self) -> &str {
        self.cluster.url()
    }

    /// Connection string for another database on the replica (databases
    /// created on the primary appear here once replayed).
    pub fn url_for(&self, database: &str) -> String {
        self.cluster.url_for(database)
    }

    /// The replica's server log file.
    pub fn log_path(&self) -> PathBuf {
        self.cluster.log_path()
    }

    /// Stops the replica (fast shutdown) and starts it again on the same
    /// data; it resumes streaming from where it stopped.
    ///
    /// # Errors
    /// [`EmbeddedError::NotReady`] if it does not come back.
    pub fn restart(&self) -> Result<(), EmbeddedError> {
        self.cluster.restart()
    }

    /// Stops the replica (fast shutdown), keeping its data, as an outage
    /// would; [`EmbeddedReplica::start`] brings it back. Safe to repeat.
    ///
    /// # Errors
    /// [`EmbeddedError::Io`] if waiting for the server fails.
    pub fn stop(&self) -> Result<(), EmbeddedError> {
        let mut server = self
            .cluster
            .server
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(mut child) = server.take() {
            // The postmaster we started (our child, not yet reaped).
            sys::signal(child.id(), Signal::Interrupt);
            child.wait().map_err(io("wait for the replica to stop"))?;
        }
        Ok(())
    }

    /// Starts a replica stopped by [`EmbeddedReplica::stop`] again (no-op
    /// when it runs); it resumes streaming where it stopped.
    ///
    /// # Errors
    /// [`EmbeddedError::NotReady`] if it does not come back.
    pub fn start(&self) -> Result<(), EmbeddedError> {
        let mut server = self
            .cluster
            .server
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if server.is_none() {
            *server = Some(self.cluster.spawn_server()?);
        }
        Ok(())
    }

    /// Stops the replica and removes its directory; waits for both. Safe to
    /// call more than once.
    pub fn shutdown(&self) {
        self.cluster.shutdown();
    }
}
