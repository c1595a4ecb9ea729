//! `Database::from_env()`: `DATABASE_URL` missing or bad is `Invalid`
//! naming the variable; set, it connects. Each case runs in a child
//! process (this test binary, one ignored test) with its own environment:
//! changing the environment of this process would race with every thread
//! that reads it (libpq does, and so does `TestDatabase`).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::process::Command;

use saas_db::{Database, Repos};
use saas_db_testing::TestDatabase;

const CASE: &str = "SAAS_DB_FROM_ENV_CHILD";

/// What `Database::from_env()` gives in a process whose `DATABASE_URL` is
/// `value` (`None`: not set), as the child prints it.
fn from_env_with(value: Option<&OsStr>) -> String {
    let mut child = Command::new(std::env::current_exe().unwrap());
    child
        .args([
            "--exact",
            "from_env::from_env_child",
            "--ignored",
            "--nocapture",
        ])
        .env(CASE, "1");
    match value {
        Some(value) => child.env("DATABASE_URL", value),
        None => child.env_remove("DATABASE_URL"),
    };
    let out = child.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("FROM_ENV "))
        .unwrap_or_else(|| panic!("the child did not run: {stdout}"))
        .to_owned()
}

/// The child: what this process's `Database::from_env()` gives.
#[test]
#[ignore = "run by from_env_names_database_url_when_missing_or_bad in a child process"]
fn from_env_child() {
    if std::env::var_os(CASE).is_none() {
        return;
    }
    match Database::from_env() {
        Ok(db) => {
            let mut conn = db.conn().unwrap();
            conn.users().count().unwrap();
            println!("FROM_ENV ok");
        }
        Err(e) => println!("FROM_ENV {e:?}"),
    }
}

/// Missing, non-UTF-8, blank and non-PostgreSQL values are each
/// `Error::Invalid { field: "DATABASE_URL", .. }` (there was no
/// `from_env`); the URL of a real database connects and migrates. A
/// password in a bad value is not repeated in the error.
#[test]
fn from_env_names_database_url_when_missing_or_bad() {
    let invalid =
        |reason: &str| format!("Invalid {{ field: \"DATABASE_URL\", reason: \"{reason}\" }}");
    assert_eq!(from_env_with(None), invalid("is not set"));
    assert_eq!(
        from_env_with(Some(OsStr::from_bytes(b"postgres://u@h/\xff"))),
        invalid("is not valid UTF-8")
    );
    assert_eq!(from_env_with(Some(OsStr::new("  "))), invalid("is empty"));
    let foreign = from_env_with(Some(OsStr::new("mysql://root:hunter2@db/app")));
    assert_eq!(
        foreign,
        invalid(
            "is not a PostgreSQL connection string (postgres://user@host/db or host=.. dbname=..)"
        )
    );
    assert!(!foreign.contains("hunter2"));

    let db = TestDatabase::new();
    assert_eq!(from_env_with(Some(OsStr::new(db.url()))), "ok");
}
