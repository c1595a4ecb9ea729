//! Faults: connections lost at the worst moment (during COMMIT, while idle
//! in the pool, in the middle of a COPY), and warm prepared statements
//! under kills, restarts and a host's schema changes (`prepared`). Each test kills real backends and
//! has a control showing what happens without the mechanism under test.

mod commit;
mod pool;
pub(crate) mod prepared;

use std::time::{Duration, Instant};

use crate::support::{backend_pid, count, Count};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Integer;

/// Terminates the backends `pids` from a connection of its own and waits
/// until they have exited, so their sockets are closed before we go on.
fn kill_backends(url: &str, pids: &[i32]) {
    let mut admin = PgConnection::establish(url).unwrap();
    for &pid in pids {
        diesel::sql_query("SELECT pg_terminate_backend($1)")
            .bind::<Integer, _>(pid)
            .execute(&mut admin)
            .unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let alive =
            diesel::sql_query("SELECT count(*) AS n FROM pg_stat_activity WHERE pid = ANY($1)")
                .bind::<diesel::sql_types::Array<Integer>, _>(pids)
                .get_result::<Count>(&mut admin)
                .unwrap()
                .n;
        // A backend leaves pg_stat_activity before it closes its socket
        // (shared memory is detached first); on this machine its process is
        // also watched until it is gone, so the socket is closed for sure.
        let exited = pids
            .iter()
            .all(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists());
        if alive == 0 && exited {
            return;
        }
        assert!(Instant::now() < deadline, "backends {pids:?} did not exit");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A trigger function that terminates its own backend and waits to die:
/// attached as a deferred constraint trigger it runs during COMMIT, as a
/// row trigger in the middle of the statement (a COPY, say).
fn create_suicide_function(conn: &mut PgConnection) {
    conn.batch_execute(
        "CREATE FUNCTION die() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); PERFORM pg_sleep(5); RETURN NEW; END $$;",
    )
    .unwrap();
}
