//! The tables behind issue 18's targets, and the Targets section that ends
//! the report: the hot writes interleaved with the raw driver, COPY against
//! raw COPY and the server's own INSERT .. SELECT, a primary-key get against
//! `pgbench -S`, and the concurrent request mix.

use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::paired::Paired;
use crate::{micros, Results};

/// The interleaved write pairs (`benches/suite/write_pairs.rs`) and their
/// limits on ours / raw.
const WRITE_PAIRS: [(&str, &str, f64); 4] = [
    (
        "optimistic_update_ok_interleaved",
        "optimistic_update_ok",
        1.15,
    ),
    (
        "optimistic_update_conflict_interleaved",
        "optimistic_update_conflict (Stale)",
        1.3,
    ),
    (
        "transaction_two_writes_interleaved",
        "transaction_two_writes",
        1.1,
    ),
    ("audit_insert_one_interleaved", "audit_insert_one", 1.1),
];
/// Our COPY import's rows/s over raw COPY's, and over INSERT .. SELECT's.
const COPY_VS_RAW: f64 = 0.9;
const COPY_VS_FLOOR: f64 = 0.85;
/// A primary-key get over pgbench -S's time per transaction.
const PK_VS_PGBENCH: f64 = 1.3;
/// Our request mix's throughput over the raw driver's, at every thread count.
const MIX_VS_RAW: f64 = 0.9;

fn get(r: &Results, group: &str, side: &str, size: &str) -> Option<f64> {
    r.get(&(group.into(), side.into(), size.into())).copied()
}

pub fn read_json(target: &Path, name: &str) -> Vec<Value> {
    fs::read_to_string(target.join(name))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// Prints the writes against the raw driver.
pub fn write_pairs(r: &Results, paired: &Paired, sizes: &[&str]) {
    println!("\n== writes against the raw driver, interleaved pairs\n");
    println!("(median per call of each side; ours/raw is the median of the samples' ratios)\n");
    println!(
        "{:<36} {:>5} {:>11} {:>11} {:>9} {:>8}",
        "operation", "size", "saas_db", "postgres", "ours/raw", "samples"
    );
    for (group, name, _) in WRITE_PAIRS {
        for size in sizes {
            let (o, p) = (
                get(r, group, "saas_db", size),
                get(r, group, "postgres", size),
            );
            if let (Some(o), Some(p), Some((ratio, n))) =
                (o, p, paired.ratio(group, size, "saas_db", "postgres"))
            {
                println!(
                    "{name:<36} {size:>5} {:>11} {:>11} {ratio:>8.2}x {n:>8}",
                    micros(o),
                    micros(p),
                );
            }
        }
    }
    // The Stale group's third side: the crate's statement on the raw client.
    let group = "optimistic_update_conflict_interleaved";
    for size in sizes {
        let vs = |a: &str, b: &str| paired.ratio(group, size, a, b).map(|(r, _)| r);
        if let (Some(server), Some(client)) = (
            vs("postgres_same_sql", "postgres"),
            vs("saas_db", "postgres_same_sql"),
        ) {
            println!(
                "  Stale, {size}: the crate's statement on the raw client / raw UPDATE {server:.2}x \
                 (the server's share); ours / that {client:.2}x (the client's)"
            );
        }
    }
}

/// Prints COPY against raw COPY and INSERT .. SELECT.
pub fn copy(r: &Results, paired: &Paired, sizes: &[&str]) {
    println!("\n== audit COPY, 1,000 rows per call, three sides interleaved (rows/s)\n");
    println!(
        "{:<5} {:>11} {:>11} {:>15} {:>9} {:>11}",
        "size", "ours COPY", "raw COPY", "INSERT..SELECT", "ours/raw", "ours/floor"
    );
    let rows = |ns: f64| 1000.0 / (ns / 1e9);
    for size in sizes {
        let side = |s: &str| get(r, "audit_copy_1000", s, size);
        if let (Some(o), Some(c), Some(f), Some(vs_raw), Some(vs_floor)) = (
            side("saas_db"),
            side("postgres_copy"),
            side("insert_select"),
            copy_ratio(paired, size, "postgres_copy"),
            copy_ratio(paired, size, "insert_select"),
        ) {
            println!(
                "{size:<5} {:>11.0} {:>11.0} {:>15.0} {vs_raw:>8.2}x {vs_floor:>10.2}x",
                rows(o),
                rows(c),
                rows(f),
            );
        }
    }
}

/// Our COPY's rows/s over `other`'s: `other`'s time per call over ours,
/// paired (the median of the samples' ratios).
fn copy_ratio(paired: &Paired, size: &str, other: &str) -> Option<f64> {
    paired
        .ratio("audit_copy_1000", size, other, "saas_db")
        .map(|(ratio, _)| ratio)
}

/// Prints (and returns) the pgbench floor entries.
pub fn floor(target: &Path) -> Vec<Value> {
    let floor = read_json(target, "bench-floor.json");
    if !floor.is_empty() {
        println!("\n== primary-key get / pgbench -S -M prepared (one client, same server, alternating rounds)\n");
        println!(
            "{:<5} {:>11} {:>13} {:>7}",
            "size", "PK get", "pgbench -S", "ratio"
        );
        for e in &floor {
            let (o, p) = (num(&e["ours_us"]), num(&e["pgbench_us"]));
            println!(
                "{:<5} {:>11} {:>13} {:>6.2}x",
                e["size"].as_str().unwrap_or(""),
                micros(o * 1e3),
                micros(p * 1e3),
                o / p
            );
        }
    }
    floor
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

/// The (ours, raw) entries of the mix at each thread count.
fn mix_pairs(mix: &[Value]) -> Vec<(u64, &Value, &Value)> {
    let side = |t: u64, s: &str| {
        mix.iter()
            .find(|e| e["threads"].as_u64() == Some(t) && e["side"] == s)
    };
    let mut threads: Vec<u64> = mix.iter().filter_map(|e| e["threads"].as_u64()).collect();
    threads.dedup();
    threads
        .into_iter()
        .filter_map(|t| Some((t, side(t, "saas_db")?, side(t, "postgres")?)))
        .collect()
}

/// Prints (and returns) the request mix.
pub fn mix(target: &Path) -> Vec<Value> {
    let mix = read_json(target, "bench-mix.json");
    if !mix.is_empty() {
        println!("\n== request mix: validate session, get user, a page of posts; 1 in 10 an update + audit entry\n");
        println!("(latency per request; CPU per request as ours/raw)\n");
        println!(
            "{:>7} {:>11} {:>10} {:>7} {:>19} {:>19} {:>7} {:>16} {:>16}",
            "threads",
            "ours req/s",
            "raw req/s",
            "ratio",
            "ours p50/p99",
            "raw p50/p99",
            "errors",
            "client CPU/req",
            "server CPU/req"
        );
        let lat = |e: &Value| format!("{}/{} µs", e["p50_us"], e["p99_us"]);
        for (t, o, p) in mix_pairs(&mix) {
            let (or, pr) = (num(&o["per_second"]), num(&p["per_second"]));
            let cpu = |side: &str| {
                let us = |e: &Value| num(&e[format!("{side}_cpu_us_per_request").as_str()]);
                format!("{:.0}/{:.0} µs", us(o), us(p))
            };
            println!(
                "{t:>7} {or:>11.0} {pr:>10.0} {:>6.2}x {:>19} {:>19} {:>7} {:>16} {:>16}",
                or / pr,
                lat(o),
                lat(p),
                o["errors"].as_u64().unwrap_or(0) + p["errors"].as_u64().unwrap_or(0),
                cpu("client"),
                cpu("server")
            );
        }
    }
    mix
}

/// The read-only request of the mix and its parts, interleaved on one
/// thread (`benches/suite/request_parts.rs`; diagnostics, not targets).
const REQUEST_PARTS: [(&str, &str); 5] = [
    (
        "request_read_interleaved",
        "whole request (checkout + 3 statements)",
    ),
    ("request_checkout_interleaved", "pool checkout and return"),
    ("request_validate_interleaved", "validate a session"),
    ("request_user_interleaved", "get the user"),
    ("request_page_interleaved", "first page of published posts"),
];

/// Prints the mix's read-only request and its parts, ours and hand-written
/// Diesel (where measured) against raw.
pub fn request_parts(r: &Results, paired: &Paired, sizes: &[&str]) {
    let Some(size) = sizes.first() else { return };
    let rows: Vec<_> = REQUEST_PARTS
        .iter()
        .filter_map(|&(group, name)| {
            let ratio = |side: &str| paired.ratio(group, size, side, "postgres").map(|r| r.0);
            let ours = ratio("saas_db")?;
            let diesel = ratio("diesel").map_or("-".into(), |d| format!("{d:.2}x"));
            let side = |s: &str| get(r, group, s, size).map_or("-".into(), micros);
            Some((name, side("saas_db"), side("postgres"), ours, diesel))
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    println!("\n== the mix's read-only request and its parts, one thread, interleaved ({size})\n");
    println!(
        "{:<42} {:>11} {:>11} {:>9} {:>11}",
        "part", "saas_db", "postgres", "ours/raw", "diesel/raw"
    );
    for (name, ours, raw, ratio, diesel) in rows {
        println!("{name:<42} {ours:>11} {raw:>11} {ratio:>8.2}x {diesel:>11}");
    }
}

/// Prints the Targets section; whether every target passed.
pub fn check(paired: &Paired, sizes: &[&str], floor: &[Value], mix: &[Value]) -> bool {
    println!("\n== Targets\n");
    let mut all = true;
    let mut line = |name: String, value: Option<f64>, rule: &str, limit: f64| {
        let pass = value.is_some_and(|v| if rule == "<=" { v <= limit } else { v >= limit });
        all &= pass;
        let verdict = match value {
            None => "MISS (not measured)",
            Some(_) if pass => "PASS",
            Some(_) => "MISS",
        };
        // Three decimals, so that 0.898 against 0.9 does not read "0.90 MISS".
        let shown = value.map_or("-".into(), |v| format!("{v:.3}"));
        println!("{name:<52} {shown:>8}  ({rule} {limit})  {verdict}");
    };
    for (group, name, limit) in WRITE_PAIRS {
        for size in sizes {
            let ratio = paired
                .ratio(group, size, "saas_db", "postgres")
                .map(|(ratio, _)| ratio);
            line(format!("{name} / raw, {size}"), ratio, "<=", limit);
        }
    }
    for size in sizes {
        let vs = |other: &str| copy_ratio(paired, size, other);
        line(
            format!("audit COPY rows/s / raw COPY rows/s, {size}"),
            vs("postgres_copy"),
            ">=",
            COPY_VS_RAW,
        );
        line(
            format!("audit COPY rows/s / INSERT..SELECT rows/s, {size}"),
            vs("insert_select"),
            ">=",
            COPY_VS_FLOOR,
        );
    }
    for size in sizes {
        let e = floor.iter().find(|e| e["size"] == *size);
        let ratio = e.map(|e| num(&e["ours_us"]) / num(&e["pgbench_us"]));
        line(
            format!("PK get / pgbench -S per transaction, {size}"),
            ratio.filter(|r| r.is_finite()),
            "<=",
            PK_VS_PGBENCH,
        );
    }
    let pairs = mix_pairs(mix);
    if pairs.is_empty() {
        line(
            "request mix req/s / raw req/s".into(),
            None,
            ">=",
            MIX_VS_RAW,
        );
    }
    for (t, o, p) in pairs {
        let ratio = num(&o["per_second"]) / num(&p["per_second"]);
        line(
            format!("request mix req/s / raw req/s, {t} threads"),
            Some(ratio).filter(|r| r.is_finite()),
            ">=",
            MIX_VS_RAW,
        );
        let errors = o["errors"].as_u64().unwrap_or(u64::MAX) + p["errors"].as_u64().unwrap_or(0);
        line(
            format!("request mix errors (ours and raw), {t} threads"),
            Some(errors as f64),
            "<=",
            0.0,
        );
    }
    println!(
        "\n{}",
        if all {
            "all targets met"
        } else {
            "some targets MISSED (exit status 2)"
        }
    );
    all
}
