//! One throwaway server for all the test binaries of a run, with real
//! processes: children of this test binary, each in the same private
//! `TMPDIR`, each using a `TestDatabase`. The server outlives any one of
//! them, stops (a linger after) the last one ends, also when they are
//! killed, and a server whose keeper was killed too is swept by the next
//! start.

use std::path::{Path, PathBuf};
use std::time::Duration;

use diesel::{Connection, PgConnection};
use saas_db_testing::TestDatabase;

use super::{private_tmp, ChildTest, ROLE};
use crate::embedded::{assert_cleaned_up, watchdog_of};

const CHILD: &str = "harness::shared_server::child_uses_a_test_database";

/// Not a test of its own: the body of a child "test binary". Prints the
/// server's URL once it has a test database, then holds it until its
/// stdin closes (`hold`) or ends at once (`exit`).
#[test]
#[ignore = "run as a child process by the tests below"]
fn child_uses_a_test_database() {
    let Ok(how) = std::env::var(ROLE) else { return };
    let test_db = TestDatabase::new();
    println!("URL {}", TestDatabase::admin_url().unwrap());
    if how == "hold" {
        let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
    }
    drop(test_db);
}

/// Children in `tmp`, whose keeper lingers `linger` seconds.
fn spawn(how: &str, tmp: &Path, linger: &str) -> ChildTest {
    let tmp = tmp.to_str().unwrap();
    ChildTest::spawn(
        CHILD,
        how,
        &[("TMPDIR", tmp), ("SAAS_DB_SERVER_LINGER", linger)],
    )
}

/// The cluster directory of a throwaway server's URL (`host=` is its data
/// directory, percent-encoded) and its postmaster's pid.
fn cluster_of(url: &str) -> (PathBuf, i32) {
    let host = url
        .split("host=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let mut data = Vec::new();
    let mut bytes = host.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex: String = bytes.by_ref().take(2).map(char::from).collect();
            data.push(u8::from_str_radix(&hex, 16).unwrap());
        } else {
            data.push(b);
        }
    }
    let data = PathBuf::from(String::from_utf8(data).unwrap());
    let pid = std::fs::read_to_string(data.join("postmaster.pid"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    (data.parent().unwrap().to_owned(), pid)
}

/// The throwaway clusters in `tmp`.
fn clusters_in(tmp: &Path) -> usize {
    std::fs::read_dir(tmp)
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("saas-db-cluster-")
        })
        .count()
}

/// Two binaries running at once use one server; it keeps running while
/// either does, and is stopped and removed once the last has ended.
/// (Each binary used to start a server of its own.)
#[test]
fn two_binaries_share_one_server_until_the_last_ends() {
    let tmp = private_tmp();
    let mut first = spawn("hold", &tmp, "0.3");
    let url = first.line("URL ");
    let mut second = spawn("hold", &tmp, "0.3");
    assert_eq!(
        second.line("URL "),
        url,
        "the second binary has its own server"
    );
    let (root, postmaster) = cluster_of(&url);
    assert_eq!(clusters_in(&tmp), 1);

    assert!(second.finish().0);
    std::thread::sleep(Duration::from_secs(1)); // well past the linger
    assert!(
        PgConnection::establish(&url).is_ok(),
        "the server stopped while a binary still used it"
    );
    assert!(first.finish().0);
    assert_cleaned_up(&root, postmaster);
    assert_eq!(clusters_in(&tmp), 0);
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// `cargo test` runs its binaries one after another: a binary that starts
/// within the linger of the previous one's end gets the same server.
#[test]
fn the_next_binary_within_the_linger_gets_the_same_server() {
    let tmp = private_tmp();
    let mut first = spawn("exit", &tmp, "5");
    let url = first.line("URL ");
    let (root, postmaster) = cluster_of(&url);
    assert!(first.finish().0);
    let mut second = spawn("exit", &tmp, "5");
    assert_eq!(second.line("URL "), url);
    assert!(second.finish().0);
    assert_cleaned_up(&root, postmaster);
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// A binary killed with SIGKILL stops counting as a user (the kernel
/// closes its end of the FIFO): the server stays for the one still running
/// and goes once that one is killed too.
#[test]
fn killed_binaries_do_not_keep_the_server() {
    let tmp = private_tmp();
    let mut first = spawn("hold", &tmp, "0.3");
    let url = first.line("URL ");
    let mut second = spawn("hold", &tmp, "0.3");
    assert_eq!(second.line("URL "), url);
    let (root, postmaster) = cluster_of(&url);
    first.kill();
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        PgConnection::establish(&url).is_ok(),
        "stopped under a live binary"
    );
    second.kill();
    assert_cleaned_up(&root, postmaster);
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// When the keeper dies too (a `kill -9` of everything, a reboot), the
/// server is orphaned: the next binary does not join it but starts a new
/// one, which sweeps the orphan (its lock is free). Control: after the
/// kills the orphan still runs, so nothing else cleaned it up.
#[test]
fn an_orphaned_shared_server_is_swept_by_the_next_binary() {
    let tmp = private_tmp();
    let mut first = spawn("hold", &tmp, "0.3");
    let url = first.line("URL ");
    let (root, postmaster) = cluster_of(&url);
    let keeper = watchdog_of(&root);
    // SAFETY: kill(2) on the keeper our own child process started.
    assert_eq!(unsafe { libc::kill(keeper, libc::SIGKILL) }, 0);
    first.kill();
    std::thread::sleep(Duration::from_millis(500));
    let alive = std::fs::read_to_string(format!("/proc/{postmaster}/comm"))
        .is_ok_and(|comm| comm.trim() == "postgres");
    assert!(
        alive && root.exists(),
        "the orphan was cleaned up without a sweep"
    );

    let mut next = spawn("exit", &tmp, "0.3");
    let next_url = next.line("URL ");
    assert_ne!(next_url, url, "the next binary joined the orphan");
    let (next_root, next_postmaster) = cluster_of(&next_url);
    assert!(next.finish().0);
    assert_cleaned_up(&root, postmaster);
    assert_cleaned_up(&next_root, next_postmaster);
    std::fs::remove_dir_all(&tmp).unwrap();
}
