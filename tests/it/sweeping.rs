//! Test databases left behind by killed test processes are swept by the
//! next process that prepares the test server, and only those: databases
//! of live processes and of other hosts stay.

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

/// `pid start-time` of this process, as the harness writes it into names.
fn own_stamp() -> String {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let start = after.split_whitespace().nth(19).unwrap();
    format!("{}_{start}", std::process::id())
}

/// A leaked database (its process is gone: a pid above any `pid_max`) is
/// dropped when a new process prepares the server; one whose process is
/// alive (this one) and one of another host are left alone.
#[test]
fn leaked_test_databases_are_swept_and_live_ones_kept() {
    let ours = TestDatabase::new();
    // saas_db_test_<host>_<pid>_<start>_<seq>
    let host = ours.name().split('_').nth(3).unwrap().to_owned();
    let other_host = if host == "ffffffff" {
        "fffffffe"
    } else {
        "ffffffff"
    };
    let leaked = format!("saas_db_test_{host}_999999999_1_0");
    let live = format!("saas_db_test_{host}_{}_99999", own_stamp());
    let foreign = format!("saas_db_test_{other_host}_999999999_1_0");
    let admin_url = TestDatabase::admin_url().unwrap();
    let mut admin = PgConnection::establish(&admin_url).unwrap();
    for name in [&leaked, &live, &foreign] {
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
    for name in [&live, &foreign] {
        diesel::sql_query(format!("DROP DATABASE {name}"))
            .execute(&mut admin)
            .unwrap();
    }
    assert!(!left.contains(&leaked), "{leaked} was not swept: {left:?}");
    assert!(left.contains(&live), "{live} of a live process was swept");
    assert!(
        left.contains(&foreign),
        "{foreign} of another host was swept"
    );
    assert!(left.contains(&ours.name().to_owned()));
}
