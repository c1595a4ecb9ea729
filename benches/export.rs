//! Memory of exporting the audit log: `AuditRepo::export` (rows fetched one
//! at a time, libpq single-row mode) against loading the same rows into a
//! `Vec` first. Each runs in a child process of its own so that its peak
//! resident memory (`VmHWM`) is its alone.
//!
//! `cargo bench --bench export` seeds 1,000,000 entries by COPY (100,000
//! with `SAAS_DB_BENCH_QUICK=1`), prints the table and writes it to
//! `target/bench-export.json` for `scripts/bench.sh`.

use std::process::Command;
use std::time::Instant;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use saas_db::audit::{AuditEntry, AuditLog};
use saas_db::ids::UserId;
use saas_db::schema::audit_logs;
use saas_db::{Database, Repos};
use uuid::Uuid;

const CREATE: &str = "CREATE DATABASE saas_bench_export";
const DROP: &str = "DROP DATABASE IF EXISTS saas_bench_export WITH (FORCE)";

/// Peak and current resident memory of this process, in KiB.
fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// The child: export every entry one way, then report.
fn child(url: &str, mode: &str) {
    let mut conn = PgConnection::establish(url).expect("connect");
    // Warm the connection (type lookups) before the baseline.
    let _ = audit_logs::table.count().get_result::<i64>(&mut conn);
    let (baseline, _) = memory_kib();
    let started = Instant::now();
    let rows = match mode {
        "stream" => {
            let mut bytes = 0usize;
            let n = conn
                .audit()
                .export(None, |entry| {
                    bytes += entry.action.len();
                    Ok(())
                })
                .expect("export");
            std::hint::black_box(bytes);
            n
        }
        _ => {
            let all: Vec<AuditLog> = audit_logs::table
                .order((audit_logs::created_at, audit_logs::id))
                .select(AuditLog::as_select())
                .load(&mut conn)
                .expect("load");
            all.len() as u64
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let (peak, _) = memory_kib();
    println!("{rows} {baseline} {peak} {seconds}");
}

fn seed(admin_url: &str, rows: usize) -> String {
    let mut admin = PgConnection::establish(admin_url).expect("connect");
    admin.batch_execute(DROP).unwrap();
    admin.batch_execute(CREATE).unwrap();
    let url = saas_db_testing::url_with_database(admin_url, "saas_bench_export");
    let db = Database::builder(&url)
        .max_size(1)
        .build()
        .expect("migrate");
    let mut conn = db.conn().unwrap();
    let actor = Uuid::now_v7();
    for start in (0..rows).step_by(50_000) {
        let entries: Vec<AuditEntry> = (start..(start + 50_000).min(rows))
            .map(|i| {
                AuditEntry::new("exported", "report", Some(Uuid::now_v7()))
                    .by(UserId(actor))
                    .changes(serde_json::json!({ "row": { "before": i, "after": i + 1 } }))
                    .client(Some([203, 0, 113, 9].into()), Some("bench/1.0"))
            })
            .collect();
        conn.audit().record_many(&entries).unwrap();
    }
    conn.batch_execute("VACUUM ANALYZE audit_logs").unwrap();
    url
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--child") {
        return child(&args[at + 1], &args[at + 2]);
    }
    let quick = std::env::var_os("SAAS_DB_BENCH_QUICK").is_some_and(|v| !v.is_empty() && v != "0");
    let rows = if quick { 100_000 } else { 1_000_000 };
    let (admin_url, _server) =
        saas_db_testing::EmbeddedPostgres::url_or_start().expect("a PostgreSQL server");
    let started = Instant::now();
    let url = seed(&admin_url, rows);
    eprintln!(
        "seeded {rows} audit entries in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let me = std::env::current_exe().expect("own path");
    let mut report = Vec::new();
    println!("export of {rows} audit entries     peak RSS   over baseline   seconds");
    for mode in ["stream", "collect"] {
        let out = Command::new(&me)
            .args(["--child", &url, mode])
            .output()
            .expect("run child");
        let text = String::from_utf8_lossy(&out.stdout);
        let fields: Vec<f64> = text
            .split_whitespace()
            .filter_map(|f| f.parse().ok())
            .collect();
        let [n, baseline, peak, seconds] = fields[..] else {
            panic!(
                "child failed: {text} {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        assert_eq!(n as usize, rows, "{mode} exported every row");
        let label = if mode == "stream" {
            "AuditRepo::export (row by row)"
        } else {
            "load() into a Vec"
        };
        println!(
            "{label:<34} {:>7.1} MiB {:>11.1} MiB {seconds:>9.2}",
            peak / 1024.0,
            (peak - baseline) / 1024.0
        );
        report.push(serde_json::json!({
            "mode": mode, "rows": rows, "peak_rss_mib": peak / 1024.0,
            "baseline_mib": baseline / 1024.0, "seconds": seconds,
        }));
    }
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let _ = std::fs::write(
        format!("{target}/bench-export.json"),
        serde_json::to_string_pretty(&report).unwrap(),
    );
    if let Ok(mut admin) = PgConnection::establish(&admin_url) {
        let _ = admin.batch_execute(DROP);
    }
}
