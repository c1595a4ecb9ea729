//! The throwaway streaming replica: it replays the primary's writes, refuses
//! writes of its own, and leaves nothing behind (normal exit, panic,
//! SIGKILL), checked from outside on a child copy of this test binary.

use std::time::{Duration, Instant};

use crate::support::Count;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use saas_db_testing::{EmbeddedPostgres, EmbeddedReplica};

use crate::embedded::{assert_cleaned_up, spawn_child_running, ROLE};

#[derive(QueryableByName)]
struct Flag {
    #[diesel(sql_type = Bool)]
    flag: bool,
}

fn in_recovery(conn: &mut PgConnection) -> bool {
    diesel::sql_query("SELECT pg_is_in_recovery() AS flag")
        .get_result::<Flag>(conn)
        .unwrap()
        .flag
}

fn rows(conn: &mut PgConnection) -> Option<i64> {
    diesel::sql_query("SELECT count(*) AS n FROM replicated")
        .get_result::<Count>(conn)
        .ok()
        .map(|c| c.n)
}

/// A write on the primary shows up on the replica; the replica is a standby
/// and refuses writes. Control: before the write the replica has no such
/// table, and the primary is not in recovery.
#[test]
fn the_replica_streams_the_primarys_writes() {
    let primary = EmbeddedPostgres::start().unwrap();
    let replica = EmbeddedReplica::start_from(&primary).unwrap();
    let mut on_primary = PgConnection::establish(primary.url()).unwrap();
    let mut on_replica = PgConnection::establish(replica.url()).unwrap();
    assert!(!in_recovery(&mut on_primary));
    assert!(in_recovery(&mut on_replica));
    assert_eq!(rows(&mut on_replica), None, "control: nothing written yet");

    diesel::sql_query("CREATE TABLE replicated AS SELECT generate_series(1, 3) AS id")
        .execute(&mut on_primary)
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while rows(&mut on_replica).is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(rows(&mut on_replica), Some(3));

    let refused = diesel::sql_query("CREATE TABLE local_only (id int)")
        .execute(&mut on_replica)
        .unwrap_err();
    assert!(
        refused.to_string().contains("read-only transaction"),
        "{refused}"
    );

    // After a restart it still streams.
    drop(on_replica);
    replica.restart().unwrap();
    diesel::sql_query("INSERT INTO replicated VALUES (4)")
        .execute(&mut on_primary)
        .unwrap();
    let mut on_replica = PgConnection::establish(replica.url()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while rows(&mut on_replica) != Some(4) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(rows(&mut on_replica), Some(4));
}

/// Not a test of its own: the body of the child process. Prints the
/// replica's directory, then ends the way the parent asked.
#[test]
#[ignore = "run as a child process by the tests below"]
fn child_holds_replica() {
    let Ok(how) = std::env::var(ROLE) else { return };
    let primary = EmbeddedPostgres::start().expect("start primary");
    let replica = EmbeddedReplica::start_from(&primary).expect("start replica");
    let root = replica.log_path().parent().unwrap().to_path_buf();
    println!("ROOT {}", root.display());
    match how.as_str() {
        "panic" => panic!("a test panics while the replica runs"),
        "exit" => {}
        _ => std::thread::sleep(Duration::from_secs(600)), // "kill": wait for SIGKILL
    }
}

const CHILD: &str = "embedded_replica::child_holds_replica";

#[test]
fn no_replica_left_after_normal_exit() {
    let (mut child, root, pid) = spawn_child_running(CHILD, "exit");
    assert!(pid > 0 && root.join("data").join("standby.signal").exists());
    assert!(child.wait().unwrap().success());
    assert!(!root.exists(), "{} outlived its process", root.display());
    assert_cleaned_up(&root, pid);
}

#[test]
fn no_replica_left_after_a_panicking_test() {
    let (mut child, root, pid) = spawn_child_running(CHILD, "panic");
    assert!(!child.wait().unwrap().success(), "the child should fail");
    assert_cleaned_up(&root, pid);
}

#[test]
fn no_replica_left_after_sigkill() {
    let (mut child, root, pid) = spawn_child_running(CHILD, "kill");
    assert!(root.join("data").join("standby.signal").exists());
    child.kill().unwrap(); // SIGKILL: no destructor, no atexit
    child.wait().unwrap();
    assert_cleaned_up(&root, pid);
}
