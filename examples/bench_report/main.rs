//! Prints the ratio table of the last `cargo bench` run from criterion's
//! files under `target/criterion` (and `target/bench-export.json`,
//! `bench-floor.json`, `bench-mix.json`, `bench-pairs.json`): ours / hand-written Diesel, ours
//! / raw postgres, keyset / OFFSET by depth, the production-topology pairs
//! (PgBouncer, write tokens, replica reads), the earlier targets, then
//! (`targets.rs`) the writes interleaved with the raw driver, COPY against
//! its limits, the pgbench floor, the request mix, and last the Targets of
//! issue 18, each PASS or MISS. Exits with status 2 when one is missed (or
//! was not measured). Run by `scripts/bench.sh`.

mod paired;
mod targets;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// (group, function, size) -> median nanoseconds.
pub type Results = BTreeMap<(String, String, String), f64>;

fn collect(dir: &Path, out: &mut Results) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "new") {
                read_one(&path, out);
            } else {
                collect(&path, out);
            }
        }
    }
}

fn read_one(new: &Path, out: &mut Results) {
    let json = |name: &str| -> Option<Value> {
        serde_json::from_str(&fs::read_to_string(new.join(name)).ok()?).ok()
    };
    let (Some(bench), Some(estimates)) = (json("benchmark.json"), json("estimates.json")) else {
        return;
    };
    let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
    let median = estimates["median"]["point_estimate"]
        .as_f64()
        .unwrap_or(f64::NAN);
    out.insert(
        (
            text(&bench["group_id"]),
            text(&bench["function_id"]),
            text(&bench["value_str"]),
        ),
        median,
    );
}

pub fn micros(ns: f64) -> String {
    if ns.is_nan() {
        "-".into()
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.1} µs", ns / 1e3)
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
        _ => "-".into(),
    }
}

/// The interleaved pairs: group, baseline side, measured side. The topology
/// (`benches/suite/topology.rs`) and the change feed's capture trigger
/// (`benches/suite/live.rs`).
const TOPOLOGY: [(&str, &str, &str); 5] = [
    ("get_user_by_id_pgbouncer", "direct", "pgbouncer"),
    ("write_token", "transaction", "write"),
    ("replica_read", "primary", "at_least"),
    ("capture_insert_interleaved", "uncaptured", "captured"),
    ("capture_update_interleaved", "uncaptured", "captured"),
];

fn main() {
    let target =
        PathBuf::from(std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into()));
    let mut results = Results::new();
    collect(&target.join("criterion"), &mut results);
    let others = ["bench-mix.json", "bench-floor.json"].map(|f| target.join(f).exists());
    if results.is_empty() {
        eprintln!(
            "no results under {}/criterion: run cargo bench first",
            target.display()
        );
        // A run filtered to the request mix or the pgbench floor has no
        // criterion files, but its own.
        if !others.contains(&true) {
            std::process::exit(1);
        }
    }
    let get = |g: &str, f: &str, s: &str| results.get(&(g.into(), f.into(), s.into())).copied();
    let sizes: Vec<&str> = ["10k", "100k", "1m"]
        .into_iter()
        .filter(|s| results.keys().any(|k| k.2 == *s))
        .collect();

    println!("\n== ours / hand-written Diesel / raw postgres (median per call)\n");
    println!(
        "{:<28} {:>5} {:>11} {:>11} {:>11} {:>12} {:>14}",
        "operation", "size", "saas_db", "diesel", "postgres", "ours/diesel", "ours/postgres"
    );
    let trios = [
        "get_user_by_id",
        "get_user_by_id_interleaved",
        "find_user_by_email",
        "session_validate",
        "optimistic_update_ok",
        "optimistic_update_conflict",
        "published_page_start",
        "published_page_middle",
        "published_page_end",
        "page_with_details",
        "audit_insert_one",
        "transaction_two_writes",
    ];
    for group in trios {
        for size in &sizes {
            let (o, d, p) = (
                get(group, "saas_db", size),
                get(group, "diesel", size),
                get(group, "postgres", size),
            );
            if o.is_none() {
                continue;
            }
            println!(
                "{:<28} {:>5} {:>11} {:>11} {:>11} {:>12} {:>14}",
                group,
                size,
                micros(o.unwrap_or(f64::NAN)),
                micros(d.unwrap_or(f64::NAN)),
                micros(p.unwrap_or(f64::NAN)),
                ratio(o, d),
                ratio(o, p)
            );
        }
    }

    println!("\n== keyset / OFFSET, a 20-row published page by depth\n");
    println!(
        "{:<5} {:<7} {:>13} {:>11} {:>14} {:>16}",
        "size", "depth", "keyset (ours)", "OFFSET", "OFFSET/keyset", "keyset/start"
    );
    for size in &sizes {
        let start = get("published_page_start", "saas_db", size);
        for depth in ["start", "middle", "end"] {
            let group = format!("published_page_{depth}");
            let (k, o) = (get(&group, "saas_db", size), get(&group, "offset", size));
            if k.is_none() {
                continue;
            }
            println!(
                "{:<5} {:<7} {:>13} {:>11} {:>14} {:>16}",
                size,
                depth,
                micros(k.unwrap_or(f64::NAN)),
                micros(o.unwrap_or(f64::NAN)),
                ratio(o, k),
                ratio(k, start)
            );
        }
    }

    if let Some(size) = sizes.first() {
        let (with, without) = (
            get("outbox_enqueue_in_tx", "with_enqueue", size),
            get("outbox_enqueue_in_tx", "without", size),
        );
        let (four, one) = (
            get("outbox_claim_ack", "4_workers", size),
            get("outbox_claim_ack", "1_worker", size),
        );
        if let (Some(w), Some(wo)) = (with, without) {
            println!("\n== outbox\n");
            println!(
                "write transaction: {} with an enqueue, {} without: {:+.1} µs ({})",
                micros(w),
                micros(wo),
                (w - wo) / 1e3,
                ratio(with, without)
            );
        }
        if let (Some(four), Some(one)) = (four, one) {
            // Each sample drains 400 messages (benches/suite/outbox.rs).
            println!(
                "claim + ack: {:.0} messages/s with 4 workers, {:.0} with 1 ({:.2}x)",
                400.0 / (four / 1e9),
                400.0 / (one / 1e9),
                one / four
            );
        }
        if let Some(batched) = get("outbox_claim_ack", "4_workers_ack_all", size) {
            println!(
                "claim + ack_all: {:.0} messages/s with 4 workers",
                400.0 / (batched / 1e9)
            );
        }
    }
    if let Some(ns) = sizes
        .first()
        .and_then(|s| get("pool_checkout", "saas_db", s))
    {
        println!("\npool checkout: {:.2} µs", ns / 1e3);
    }

    println!("\n== production topology and change capture, interleaved pairs (median per call)\n");
    println!(
        "{:<26} {:>5} {:<12} {:>11} {:<10} {:>11} {:>8} {:>10}",
        "operation", "size", "baseline", "", "measured", "", "ratio", "extra"
    );
    for (group, base, measured) in TOPOLOGY {
        for size in &sizes {
            let (b, m) = (get(group, base, size), get(group, measured, size));
            if b.is_none() && m.is_none() {
                continue;
            }
            let extra = b.zip(m).map_or("-".into(), |(b, m)| micros(m - b));
            println!(
                "{:<26} {:>5} {:<12} {:>11} {:<10} {:>11} {:>8} {:>10}",
                group,
                size,
                base,
                micros(b.unwrap_or(f64::NAN)),
                measured,
                micros(m.unwrap_or(f64::NAN)),
                ratio(m, b),
                extra
            );
        }
    }

    let export: Vec<Value> = fs::read_to_string(target.join("bench-export.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    if !export.is_empty() {
        println!("\n== audit export, peak resident memory of the exporting process\n");
        for e in &export {
            println!(
                "{:<8} {:>9} rows {:>10.1} MiB {:>8.2} s",
                e["mode"].as_str().unwrap_or(""),
                e["rows"],
                e["peak_rss_mib"].as_f64().unwrap_or(f64::NAN),
                e["seconds"].as_f64().unwrap_or(f64::NAN)
            );
        }
    }

    println!("\n== earlier targets (shown; the exit status checks only the Targets below)\n");
    let largest = sizes.last().copied().unwrap_or("10k");
    let check = |name: &str, value: Option<f64>, limit: f64, at_most: bool| {
        let verdict = match value {
            Some(v) if (at_most && v <= limit) || (!at_most && v >= limit) => "met",
            Some(_) => "MISSED",
            None => "not measured",
        };
        let shown = value.map_or("-".into(), |v| format!("{v:.2}"));
        let rule = if at_most { "<=" } else { ">=" };
        println!("{name:<58} {shown:>8}  ({rule} {limit})  {verdict}");
    };
    for size in &sizes {
        let pk = get("get_user_by_id_interleaved", "saas_db", size).zip(get(
            "get_user_by_id_interleaved",
            "diesel",
            size,
        ));
        check(
            &format!("primary-key get / hand Diesel (interleaved), {size}"),
            pk.map(|(o, d)| o / d),
            1.05,
            true,
        );
    }
    for size in &sizes {
        let extra = |group: &str, base: &str, measured: &str| {
            get(group, measured, size)
                .zip(get(group, base, size))
                .map(|(m, b)| (m - b) / 1e6)
        };
        check(
            &format!("WriteToken: write - transaction, ms at p50, {size}"),
            extra("write_token", "transaction", "write"),
            0.1,
            true,
        );
        check(
            &format!("AtLeast read on a replica - primary read, ms at p50, {size}"),
            extra("replica_read", "primary", "at_least"),
            0.3,
            true,
        );
    }
    for group in ["capture_insert_interleaved", "capture_update_interleaved"] {
        let pair = |s: &str| get(group, "captured", s).zip(get(group, "uncaptured", s));
        let first = sizes.first().copied().unwrap_or("10k");
        // Met when either holds: at most 15 µs more per row, or at most 1.2x.
        let (extra, times) =
            pair(first).map_or((None, None), |(c, u)| (Some((c - u) / 1e3), Some(c / u)));
        check(
            &format!("{group}: captured - uncaptured, µs, {first}"),
            extra,
            15.0,
            true,
        );
        check(
            &format!("{group}: captured / uncaptured, {first}"),
            times,
            1.2,
            true,
        );
    }
    let deep = get("published_page_end", "saas_db", largest).zip(get(
        "published_page_start",
        "saas_db",
        largest,
    ));
    check(
        &format!("keyset page at the end / first page, {largest}"),
        deep.map(|(e, s)| e / s),
        1.2,
        true,
    );
    let stream = export
        .iter()
        .find(|e| e["mode"] == "stream")
        .and_then(|e| e["peak_rss_mib"].as_f64());
    check("streaming export peak RSS in MiB", stream, 64.0, true);

    let paired = paired::Paired::load(&target);
    targets::write_pairs(&results, &paired, &sizes);
    targets::copy(&results, &paired, &sizes);
    let floor = targets::floor(&target);
    let mix = targets::mix(&target);
    targets::request_parts(&results, &paired, &sizes);
    if !targets::check(&paired, &sizes, &floor, &mix) {
        std::process::exit(2);
    }
}
