//! Test databases left behind by killed test processes are swept by the
//! next process that prepares the test server, and only those: databases
//! of live processes (whose owner lock file is held) and of other hosts stay.

use std::process::Command;

use diesel::prelude::*;
use diesel::sql_types::Text;
use saas_db_testing::TestDatabase;

const ROLE: &str = "SAAS_DB_SWEEP_CHILD";

/// Not a test of its own: the body of the child process, which prepares
/// the test server (sweeping leaked databases) by creating a test database.
#[test]
#[ignore = "run as a child process by the test below"]
fn child_prepares_the_server() {
    if std::env::var(ROLE).is_ok() {
        drop(TestDatabase::new());
    }
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    datname: String,
}

fn databases(admin: &mut PgConnection, prefix: &str) -> Vec<String> {
    diesel::sql_query("SELECT datname FROM pg_database WHERE starts_with(datname, $1)")
        .bind::<Text, _>(prefix)
        .load::<Name>(admin)
        .unwrap()
        .into_iter()
        .map(|n| n.datname)
        .collect()
}

/// An owner lock file in the temp directory, as the harness names them.
fn owner_file(token: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("saas-db-owner-{token}.lock"))
}

/// A leaked database (its owner's lock file is free, or gone) is dropped
/// when a new process prepares the server; one whose owner holds its lock
/// (this process, or a lock held here for another) and one of another host
/// are left alone. This used to ask `/proc` whether the owner's pid still
/// ran: without `/proc` (macOS) every owner looked dead, so one test run
/// dropped the databases of another that was still running.
#[test]
fn leaked_test_databases_are_swept_and_live_ones_kept() {
    let ours = TestDatabase::new();
    // saas_db_test_<host>_<owner token>_<seq>
    let mut parts = ours.name().split('_').skip(3);
    let host = parts.next().unwrap().to_owned();
    let own_token = parts.next().unwrap().to_owned();
    assert_eq!(own_token.len(), 16, "{}", ours.name());
    let other_host = if host == "ffffffff" {
        "fffffffe"
    } else {
        "ffffffff"
    };
    // A dead owner: its lock file is there and nobody holds it.
    let dead_token = format!("{:016x}", rand::random::<u64>());
    std::fs::write(owner_file(&dead_token), "").unwrap();
    // A live owner other than us: its lock is held (here, as its process would).
    let held_token = format!("{:016x}", rand::random::<u64>());
    let held = std::fs::File::create(owner_file(&held_token)).unwrap();
    held.try_lock().unwrap();

    let leaked = format!("saas_db_test_{host}_{dead_token}_0");
    let vanished = format!("saas_db_test_{host}_00000000deadbeef_0");
    let live = format!("saas_db_test_{host}_{own_token}_99999");
    let held_live = format!("saas_db_test_{host}_{held_token}_0");
    let foreign = format!("saas_db_test_{other_host}_{dead_token}_0");
    let admin_url = TestDatabase::admin_url().unwrap();
    let mut admin = PgConnection::establish(&admin_url).unwrap();
    for name in [&leaked, &vanished, &live, &held_live, &foreign] {
        // Names made above from hex digits and numbers only.
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .unwrap();
    }

    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "sweeping::child_prepares_the_server",
            "--ignored",
        ])
        .env(ROLE, "1")
        .env("DATABASE_URL", &admin_url)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());

    let left = databases(&mut admin, "saas_db_test_");
    for name in [&live, &held_live, &foreign] {
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name}"))
            .execute(&mut admin)
            .unwrap();
    }
    let held_file_left = owner_file(&held_token).exists();
    drop(held);
    let _ = std::fs::remove_file(owner_file(&held_token));
    assert!(!left.contains(&leaked), "{leaked} was not swept: {left:?}");
    assert!(!left.contains(&vanished), "{vanished} was not swept");
    assert!(left.contains(&live), "{live} of a live process was swept");
    assert!(
        left.contains(&held_live),
        "{held_live} (lock held) was swept"
    );
    assert!(
        left.contains(&foreign),
        "{foreign} of another host was swept"
    );
    assert!(left.contains(&ours.name().to_owned()));
    assert!(
        !owner_file(&dead_token).exists(),
        "the dead owner's lock file stayed"
    );
    assert!(held_file_left, "a held owner lock file was removed");
    assert!(
        owner_file(&own_token).exists(),
        "our own lock file was removed"
    );
}
