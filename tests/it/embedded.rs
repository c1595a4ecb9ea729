//! The throwaway server leaves nothing behind: not when its owner exits
//! normally, not when a test panics, not when the owner is killed with
//! SIGKILL (no destructor runs). Each case runs a child copy of this test
//! binary that starts a cluster, and checks from outside that the server
//! process and its directory are gone afterwards.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use saas_db_testing::EmbeddedPostgres;

pub(crate) const ROLE: &str = "SAAS_DB_EMBEDDED_CHILD";

/// Not a test of its own: the body of the child process. Prints the cluster
/// directory, then ends the way the parent asked.
#[test]
#[ignore = "run as a child process by the tests below"]
fn child_holds_cluster() {
    let Ok(how) = std::env::var(ROLE) else { return };
    let pg = EmbeddedPostgres::shared().expect("start cluster");
    let root = pg.log_path().parent().unwrap().to_path_buf();
    println!("ROOT {}", root.display());
    match how.as_str() {
        "panic" => panic!("a test panics while the cluster runs"),
        "exit" => {}
        _ => std::thread::sleep(Duration::from_secs(600)), // "kill": wait for SIGKILL
    }
}

fn spawn_child(how: &str) -> (Child, PathBuf, i32) {
    spawn_child_running("embedded::child_holds_cluster", how)
}

/// Runs the ignored test `test` of this binary as a child that prints
/// `ROOT <cluster directory>`; returns it, that directory and its postmaster.
pub(crate) fn spawn_child_running(test: &str, how: &str) -> (Child, PathBuf, i32) {
    spawn_child_in(test, how, None)
}

/// As [`spawn_child_running`], with `TMPDIR=tmp` when given.
fn spawn_child_in(test: &str, how: &str, tmp: Option<&std::path::Path>) -> (Child, PathBuf, i32) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", test, "--ignored", "--nocapture"])
        .env(ROLE, how)
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(tmp) = tmp {
        cmd.env("TMPDIR", tmp);
    }
    let mut child = cmd.spawn().unwrap();
    // Keep draining the child's stdout: a closed pipe would fail its harness.
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            if let Some(root) = line.strip_prefix("ROOT ") {
                let _ = tx.send(root.to_owned());
            }
        }
    });
    let root = PathBuf::from(
        rx.recv_timeout(Duration::from_secs(60))
            .expect("child printed its cluster directory"),
    );
    let pid_file = root.join("data").join("postmaster.pid");
    let pid = std::fs::read_to_string(&pid_file)
        .ok()
        .and_then(|t| t.lines().next().and_then(|l| l.trim().parse().ok()))
        .unwrap_or(0);
    (child, root, pid)
}

pub(crate) fn assert_cleaned_up(root: &std::path::Path, postmaster: i32) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let alive = |pid: i32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| !s.contains(") Z "))
            .unwrap_or(false)
    };
    while Instant::now() < deadline && (root.exists() || alive(postmaster)) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(postmaster > 0, "child's postmaster pid was not read");
    assert!(!alive(postmaster), "postmaster {postmaster} still running");
    assert!(!root.exists(), "{} was not removed", root.display());
}

#[test]
fn nothing_left_after_normal_exit() {
    let (mut child, root, pid) = spawn_child("exit");
    assert!(child.wait().unwrap().success());
    // At normal exit the cleanup is synchronous: gone before the process ends.
    assert!(!root.exists(), "{} outlived its process", root.display());
    assert_cleaned_up(&root, pid);
}

#[test]
fn nothing_left_after_a_panicking_test() {
    let (mut child, root, pid) = spawn_child("panic");
    assert!(
        !child.wait().unwrap().success(),
        "the child test should fail"
    );
    assert_cleaned_up(&root, pid);
}

#[test]
fn nothing_left_after_sigkill() {
    let (mut child, root, pid) = spawn_child("kill");
    assert!(root.join("data").exists());
    child.kill().unwrap(); // SIGKILL: no destructor, no atexit
    child.wait().unwrap();
    assert_cleaned_up(&root, pid);
}

/// The `pid` of the watchdog of the cluster in `root` (found by its
/// command line, which names the directory).
pub(crate) fn watchdog_of(root: &std::path::Path) -> i32 {
    let root = root.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .find(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let args: Vec<String> = cmdline
                .split(|&b| b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            args.iter().any(|a| a == "saas-db-watchdog") && args.contains(&root)
        })
        .expect("the cluster's watchdog is running")
}

/// A cluster whose owner and watchdog both died (as in a reboot, or a
/// `kill -9` of the whole process group) is stopped and deleted by the next
/// start. Control: after killing both, the server still runs and its
/// directory is still there, so nothing else cleaned it up. Both children
/// use a temporary directory of their own: a cluster started by another
/// test of this binary meanwhile would sweep the orphan (and fail the
/// control) otherwise.
#[test]
fn an_orphaned_cluster_is_swept_at_the_next_start() {
    let tmp = crate::harness::private_tmp();
    let child_test = "embedded::child_holds_cluster";
    let (mut child, root, pid) = spawn_child_in(child_test, "kill", Some(&tmp));
    let watchdog = watchdog_of(&root);
    // SAFETY: kill(2) on the watchdog our own child process started.
    assert_eq!(unsafe { libc::kill(watchdog, libc::SIGKILL) }, 0);
    while std::fs::read_to_string(format!("/proc/{watchdog}/stat"))
        .is_ok_and(|s| !s.contains(") Z "))
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // Other tests start clusters (and so sweep) at any moment: hold the
    // orphan's lock, as its dead owner did, while the control looks, so
    // only this test's next start may sweep it.
    let held = std::fs::File::open(root.join("owner.lock")).unwrap();
    held.lock().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let alive = std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .is_ok_and(|comm| comm.trim() == "postgres");
    assert!(
        alive && root.exists(),
        "the orphan was cleaned up without a sweep"
    );
    drop(held);

    let (mut next, next_root, next_pid) = spawn_child_in(child_test, "exit", Some(&tmp));
    assert!(next.wait().unwrap().success());
    assert_cleaned_up(&next_root, next_pid);
    assert_cleaned_up(&root, pid);
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// A cluster whose owner process is alive is left alone by another
/// process's sweep, even though that process cannot see the owner's pid:
/// the owner holds its lock file. (The sweep used to ask `/proc` whether the
/// owner ran; on macOS, without `/proc`, every owner looked dead and a
/// second test run swept the first one's live server.)
#[test]
fn a_sweep_leaves_the_live_cluster_of_another_process_alone() {
    let (mut child, root, pid) = spawn_child("kill");
    // Starting a cluster sweeps first.
    drop(EmbeddedPostgres::start().unwrap());
    let alive = std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .is_ok_and(|comm| comm.trim() == "postgres");
    let kept = root.join("data").exists();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(kept, "{} of a live owner was swept", root.display());
    assert!(alive, "the live owner's postmaster was stopped");
    assert_cleaned_up(&root, pid);
}

/// A fake cluster directory in the temp directory, with its lock file.
fn fake_cluster(tag: &str) -> (PathBuf, std::fs::File) {
    let root = std::env::temp_dir().join(format!(
        "saas-db-cluster-fake-{tag}-{:016x}",
        rand::random::<u64>()
    ));
    std::fs::create_dir_all(root.join("data")).unwrap();
    let lock = std::fs::File::create(root.join("owner.lock")).unwrap();
    (root, lock)
}

/// The sweep decides by the lock file alone: a directory whose lock is
/// held (as a live owner holds it) stays, one whose lock is free (its owner
/// ended; the operating system released the lock) is removed.
#[test]
fn a_sweep_removes_only_clusters_whose_lock_is_free() {
    let (held_root, held) = fake_cluster("held");
    held.try_lock().unwrap();
    let (dead_root, dead) = fake_cluster("dead");
    drop(dead);
    // Starting a cluster sweeps first.
    drop(EmbeddedPostgres::start().unwrap());
    let held_kept = held_root.exists();
    drop(held);
    let _ = std::fs::remove_dir_all(&held_root);
    assert!(held_kept, "{} (lock held) was swept", held_root.display());
    assert!(
        !dead_root.exists(),
        "{} (lock free) stayed",
        dead_root.display()
    );
}
