//! What a host sees when the test server cannot be reached: one prefix per
//! layer, and a panic that points at the host's own test.

use saas_db_testing::TestDatabase;

use super::{ChildTest, ROLE};

const CHILD: &str = "harness::messages::child_without_a_server";

/// Not a test of its own: the body of the child, whose `DATABASE_URL`
/// names a socket directory that does not exist.
#[test]
#[ignore = "run as a child process by the test below"]
fn child_without_a_server() {
    if std::env::var(ROLE).is_err() {
        return;
    }
    match TestDatabase::builder().build() {
        Err(e) => println!("ERR {e:?}"),
        Ok(_) => println!("ERR none"),
    }
    println!("LINE {}", line!() + 1);
    let _never = TestDatabase::new();
}

/// `TestDatabase::new()` without a server panics with the reason once
/// (`TestDatabase: connection error: connection to server ..`), at the
/// caller's line; the builder returns `Error::Connection` with libpq's
/// reason. It used to say `TestDatabase: connection error: connection
/// error: ..` and point into the harness (`testing.rs:64`).
#[test]
fn an_unreachable_server_is_reported_once_at_the_callers_line() {
    let url = "postgresql://postgres@/postgres?host=/nonexistent-saas-db-socket&port=5432";
    let mut child = ChildTest::spawn(CHILD, "run", &[("DATABASE_URL", url)]);
    let err = child.line("ERR ");
    let line = child.line("LINE ");
    let (ok, stderr) = child.finish();
    assert!(!ok, "the child should panic");
    assert!(
        err.starts_with("Connection(\"connection to server on socket"),
        "{err}"
    );
    let location = format!("panicked at {}:{line}:", file!());
    assert!(stderr.contains(&location), "not at {location}: {stderr}");
    let message = stderr
        .lines()
        .find(|l| l.starts_with("TestDatabase: "))
        .unwrap_or_else(|| panic!("no TestDatabase message in {stderr}"));
    assert!(
        message.starts_with(
            "TestDatabase: connection error: connection to server on socket \
             \"/nonexistent-saas-db-socket/.s.PGSQL.5432\" failed"
        ),
        "{message}"
    );
    assert_eq!(message.matches("connection error").count(), 1, "{message}");
}
