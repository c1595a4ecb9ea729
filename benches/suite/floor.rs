//! The physical floor of a primary-key read: `pgbench -S -M prepared`
//! (one client; a prepared one-row, one-column SELECT by primary key, the
//! least a round trip can do) against the same server, alternated with our
//! `users().get` in rounds of equal length, in the same run.
//!
//! pgbench runs as a child of the bench process, so it is pinned to the
//! bench's CPU (`scripts/bench.sh` pins the bench to CPU 1 and the server
//! to CPU 0). Its database (`saas_bench_pgbench`, scale 1: 100,000
//! accounts) is created on the bench server with `pgbench -i` once per run.
//! Per-transaction latency is 1 / tps (pgbench's tps excludes connecting);
//! ours is the mean time per call over the round. The ratio is
//! median(ours) / median(pgbench) over the rounds. Not a criterion
//! benchmark: `target/bench-floor.json` holds one entry per size.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use saas_db::Repos;

use crate::fixture::{Fixture, SAMPLE};

const CREATE: &str = "CREATE DATABASE saas_bench_pgbench";
const DROP: &str = "DROP DATABASE IF EXISTS saas_bench_pgbench WITH (FORCE)";

/// pgbench and its initialised database.
pub struct Pgbench {
    bin: PathBuf,
    url: String,
    admin_url: String,
}

/// `SAAS_DB_PG_BIN/pgbench`, else the newest `/usr/lib/postgresql/*/bin/pgbench`,
/// else `pgbench` on the `PATH` (where the test harness looks for the server).
fn find_pgbench() -> PathBuf {
    if let Some(dir) = std::env::var_os("SAAS_DB_PG_BIN") {
        return PathBuf::from(dir).join("pgbench");
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin/pgbench");
            bin.exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map_or_else(|| PathBuf::from("pgbench"), |(_, bin)| bin)
}

impl Pgbench {
    /// Creates and initialises pgbench's database; `None` (with a note) when
    /// pgbench is missing or fails.
    pub fn setup(admin_url: &str) -> Option<Pgbench> {
        let mut admin = PgConnection::establish(admin_url).ok()?;
        admin.batch_execute(DROP).ok()?;
        admin.batch_execute(CREATE).ok()?;
        let pgbench = Pgbench {
            bin: find_pgbench(),
            url: saas_db_testing::url_with_database(admin_url, "saas_bench_pgbench"),
            admin_url: admin_url.to_owned(),
        };
        match pgbench.run(&["-i", "-s", "1", "-q"]) {
            Ok(_) => Some(pgbench),
            Err(e) => {
                eprintln!("note: pgbench -i failed ({e}); the pgbench floor is skipped");
                None
            }
        }
    }

    /// Runs pgbench with `args` against its database; its standard output.
    fn run(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new(&self.bin)
            .args(args)
            .arg(&self.url)
            .output()
            .map_err(|e| format!("{}: {e}", self.bin.display()))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// One `pgbench -S -M prepared` run of `secs` seconds: µs per transaction.
    fn select_only(&self, secs: u64) -> Result<f64, String> {
        let out = self.run(&[
            "-S",
            "-M",
            "prepared",
            "-n",
            "-c",
            "1",
            "-T",
            &secs.to_string(),
        ])?;
        let tps: f64 = out
            .lines()
            .find_map(|l| l.strip_prefix("tps = "))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("no tps in pgbench's output:\n{out}"))?;
        Ok(1e6 / tps)
    }

    /// Drops pgbench's database.
    pub fn drop_database(self) {
        if let Ok(mut admin) = PgConnection::establish(&self.admin_url) {
            let _ = admin.batch_execute(DROP);
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Alternating rounds of our primary-key get and pgbench; the entry for
/// `target/bench-floor.json`.
pub fn measure(f: &Fixture, pgbench: &Pgbench) -> Option<serde_json::Value> {
    let (rounds, secs) = if crate::quick() { (3, 1) } else { (5, 2) };
    let mut conn = f.db.conn().unwrap();
    let mut i = 0usize;
    let mut get_round = || {
        let begun = Instant::now();
        let mut calls = 0u32;
        while begun.elapsed() < Duration::from_secs(secs) {
            i = (i + 1) % SAMPLE;
            std::hint::black_box(conn.users().get(f.user_ids[i]).unwrap());
            calls += 1;
        }
        begun.elapsed().as_secs_f64() * 1e6 / f64::from(calls)
    };
    let (mut ours, mut floor) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let pg = || match pgbench.select_only(secs) {
            Ok(us) => Some(us),
            Err(e) => {
                eprintln!("note: pgbench -S failed ({e}); the pgbench floor is skipped");
                None
            }
        };
        if round % 2 == 0 {
            ours.push(get_round());
            floor.push(pg()?);
        } else {
            floor.push(pg()?);
            ours.push(get_round());
        }
    }
    let (o, p) = (median(ours.clone()), median(floor.clone()));
    eprintln!(
        "PK get {o:.1} µs, pgbench -S {p:.1} µs per transaction: {:.2}x ({})",
        o / p,
        f.size.label
    );
    Some(serde_json::json!({
        "size": f.size.label,
        "ours_us": o,
        "pgbench_us": p,
        "ours_rounds_us": ours,
        "pgbench_rounds_us": floor,
    }))
}
