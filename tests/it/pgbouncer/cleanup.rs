//! The throwaway PgBouncer leaves nothing behind: not when its owner exits
//! normally, not when a test panics, not when the owner is killed with
//! SIGKILL. Each case runs a child copy of this test binary that starts
//! one, and checks from outside that the process and its directory are gone.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ROLE: &str = "SAAS_DB_PGBOUNCER_CHILD";

/// Not a test of its own: the body of the child process. Prints the
/// PgBouncer directory, then ends the way the parent asked.
#[test]
#[ignore = "run as a child process by the tests below"]
fn child_holds_pgbouncer() {
    let Ok(how) = std::env::var(ROLE) else { return };
    let bouncer = super::bouncer(1);
    let root = bouncer.log_path().parent().unwrap().to_path_buf();
    let pid = std::fs::read_to_string(root.join("pgbouncer.pid")).unwrap();
    println!("ROOT {} {}", pid.trim(), root.display());
    match how.as_str() {
        "panic" => panic!("a test panics while pgbouncer runs"),
        "exit" => {}
        _ => std::thread::sleep(Duration::from_secs(600)), // "kill": wait for SIGKILL
    }
}

fn spawn_child(how: &str) -> (Child, PathBuf, i32) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "pgbouncer::cleanup::child_holds_pgbouncer",
            "--ignored",
            "--nocapture",
        ])
        .env(ROLE, how)
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            if let Some(root) = line.strip_prefix("ROOT ") {
                let _ = tx.send(root.to_owned());
            }
        }
    });
    let line = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("child printed its pgbouncer pid and directory");
    let (pid, root) = line.split_once(' ').unwrap();
    let (pid, root) = (pid.parse().unwrap_or(0), PathBuf::from(root));
    (child, root, pid)
}

fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "))
}

fn assert_cleaned_up(root: &Path, pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline && (root.exists() || alive(pid)) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(pid > 0, "child's pgbouncer pid was not read");
    assert!(!alive(pid), "pgbouncer {pid} still running");
    assert!(!root.exists(), "{} was not removed", root.display());
}

/// Control for the three below: while its owner runs, PgBouncer runs and
/// its directory exists.
#[test]
fn pgbouncer_is_left_alone_while_its_owner_runs() {
    let (mut child, root, pid) = spawn_child("kill");
    std::thread::sleep(Duration::from_millis(200));
    assert!(alive(pid) && root.exists());
    child.kill().unwrap();
    child.wait().unwrap();
    assert_cleaned_up(&root, pid);
}

#[test]
fn no_pgbouncer_left_after_normal_exit() {
    let (mut child, root, pid) = spawn_child("exit");
    assert!(child.wait().unwrap().success());
    assert!(!root.exists(), "{} outlived its process", root.display());
    assert_cleaned_up(&root, pid);
}

#[test]
fn no_pgbouncer_left_after_a_panicking_test() {
    let (mut child, root, pid) = spawn_child("panic");
    assert!(
        !child.wait().unwrap().success(),
        "the child test should fail"
    );
    assert_cleaned_up(&root, pid);
}

#[test]
fn no_pgbouncer_left_after_sigkill() {
    let (mut child, root, pid) = spawn_child("kill");
    child.kill().unwrap(); // SIGKILL: no destructor, no atexit
    child.wait().unwrap();
    assert_cleaned_up(&root, pid);
}
