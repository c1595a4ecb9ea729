//! The benchmark suite (`cargo bench --bench suite`): every operation three
//! ways (the repository, the same query hand-written in Diesel, a prepared
//! statement on the raw `postgres` client) at 10k, 100k and 1M users, each
//! size seeded once by COPY into its own database on one server.
//!
//! The change feed's rows (`live.rs`) run at the first size only: they
//! write to `projects`, which the seed leaves empty. So do the mix and the
//! parts of its request (`request_parts.rs`).
//!
//! Environment: `DATABASE_URL` to use a running server (`scripts/bench.sh`
//! starts one pinned to its own CPU), else a throwaway one is started;
//! `SAAS_DB_BENCH_SIZES=10k,100k` to choose sizes; `SAAS_DB_BENCH_QUICK=1`
//! for short measurements; `SAAS_DB_BENCH_KEEP=1` keeps the databases;
//! `PGBOUNCER_URL` and `REPLICA_URL` for the topology rows (`topology.rs`;
//! started here with a throwaway server). `scripts/bench.sh` prints the
//! ratio table.
//!
//! Besides criterion's groups, two measurements write JSON files of their
//! own under the target directory: the concurrent request mix (`mix.rs`,
//! first size only, `bench-mix.json`) and the pgbench floor of a
//! primary-key get (`floor.rs`, every size, `bench-floor.json`). A
//! criterion filter (`cargo bench --bench suite -- NAME`) runs them only
//! when `mix` or `pgbench_floor` contains NAME.

// The hand-written baselines use Diesel's own transactions, as a host would
// (clippy.toml forbids them in the crate).
#![allow(clippy::disallowed_methods)]

mod copy;
mod fixture;
mod floor;
mod live;
mod mix;
mod outbox;
mod pages;
mod pair;
mod raw;
mod reads;
mod request_parts;
mod topology;
mod write_pairs;
mod writes;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};

fn quick() -> bool {
    std::env::var_os("SAAS_DB_BENCH_QUICK").is_some_and(|v| !v.is_empty() && v != "0")
}

/// Whether the criterion filter given on the command line (if any) selects
/// `name`, for the measurements that are not criterion groups.
fn wanted(name: &str) -> bool {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()))
}

/// Writes `value` to `name` in the target directory, for `bench_report`.
fn write_results(name: &str, value: &serde_json::Value) {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let path = std::path::Path::new(&target).join(name);
    if let Err(e) = std::fs::write(&path, value.to_string()) {
        eprintln!("cannot write {}: {e}", path.display());
    }
}

fn sizes() -> Vec<&'static fixture::Size> {
    let wanted = std::env::var("SAAS_DB_BENCH_SIZES").unwrap_or_else(|_| "10k,100k,1m".into());
    fixture::SIZES
        .iter()
        .filter(|s| {
            wanted
                .split(',')
                .any(|w| w.trim().eq_ignore_ascii_case(s.label))
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let (admin_url, server) =
        saas_db_testing::EmbeddedPostgres::url_or_start().expect("a PostgreSQL server");
    let servers = topology::Servers::find(&admin_url, server.as_ref());
    let pgbench = wanted("pgbench_floor")
        .then(|| floor::Pgbench::setup(&admin_url))
        .flatten();
    let mut floors = Vec::new();
    for (n, size) in sizes().into_iter().enumerate() {
        let f = fixture::seed(size, &admin_url);
        if n == 0 {
            writes::pool_checkout(c, &f);
            outbox::all(c, &f);
            live::all(c, &f);
            if wanted("mix") {
                mix::run(&f);
            }
            request_parts::all(c, &f);
        }
        reads::all(c, &f);
        if let Some(pgbench) = &pgbench {
            floors.extend(floor::measure(&f, pgbench));
        }
        pages::all(c, &f);
        writes::all(c, &f);
        write_pairs::all(c, &f);
        copy::all(c, &f);
        topology::all(c, &f, &servers);
        if std::env::var_os("SAAS_DB_BENCH_KEEP").is_none() {
            f.drop_database(&admin_url);
        }
    }
    if let Some(pgbench) = pgbench {
        write_results("bench-floor.json", &serde_json::Value::Array(floors));
        pgbench.drop_database();
    }
}

fn config() -> Criterion {
    let c = Criterion::default().configure_from_args();
    if quick() {
        c.sample_size(10)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(1))
    } else {
        c.sample_size(30)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3))
    }
}

criterion_group! {
    name = suite;
    config = config();
    targets = benches
}
criterion_main!(suite);
