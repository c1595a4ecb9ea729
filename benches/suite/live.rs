//! The change feed: the capture trigger's cost per written row (a captured
//! table against an identical one without the trigger, interleaved call by
//! call with `pair::interleaved`), the wake-up latency from COMMIT to `poll` returning (p50 / p99,
//! printed), and the cost of a poll that finds nothing.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{Text, Uuid as SqlUuid};
use saas_db::access::Actor;
use saas_db::ids::TeamId;
use saas_db::live::{CapturedTable, ChangeCursor};
use saas_db::users::NewUser;
use saas_db::Repos;
use uuid::Uuid;

use crate::fixture::Fixture;

/// `projects` without the capture trigger: same columns, defaults, checks,
/// indexes, foreign keys and updated_at trigger.
const UNCAPTURED: &str = "
    DROP TABLE IF EXISTS bench_projects_uncaptured;
    CREATE TABLE bench_projects_uncaptured (LIKE projects INCLUDING ALL);
    ALTER TABLE bench_projects_uncaptured
        ADD FOREIGN KEY (team_id) REFERENCES teams (id) ON DELETE CASCADE,
        ADD FOREIGN KEY (created_by) REFERENCES users (id) ON DELETE SET NULL;
    CREATE TRIGGER bench_projects_uncaptured_set_updated_at BEFORE UPDATE
        ON bench_projects_uncaptured FOR EACH ROW EXECUTE FUNCTION set_updated_at();";

const INSERT: [&str; 2] = [
    "INSERT INTO projects (team_id, name) VALUES ($1, $2)",
    "INSERT INTO bench_projects_uncaptured (team_id, name) VALUES ($1, $2)",
];
const UPDATE: [&str; 2] = [
    "UPDATE projects SET name = $2 WHERE id = $1",
    "UPDATE bench_projects_uncaptured SET name = $2 WHERE id = $1",
];

pub fn all(c: &mut Criterion, f: &Fixture) {
    let mut conn = f.db.conn().unwrap();
    let owner = conn
        .users()
        .create(&NewUser::new("feed-bench@example.com", "Feed Bench"))
        .unwrap();
    let team = conn
        .teams()
        .create(&Actor::from(&owner), "Feed bench")
        .unwrap()
        .id;
    conn.batch_execute(UNCAPTURED).unwrap();
    drop(conn);
    trigger_overhead(c, f, team);
    empty_poll(c, f);
    wake_up_latency(f, team);
}

fn run(conn: &mut PgConnection, sql: &str, id: impl Into<Uuid>, name: &str) {
    let id: Uuid = id.into();
    diesel::sql_query(sql)
        .bind::<SqlUuid, _>(id)
        .bind::<Text, _>(name)
        .execute(conn)
        .unwrap();
}

fn trigger_overhead(c: &mut Criterion, f: &Fixture, team: TeamId) {
    let mut conn = PgConnection::establish(&f.url).unwrap();
    let size = f.size.label;
    let row = Uuid::now_v7();
    for table in ["projects", "bench_projects_uncaptured"] {
        diesel::sql_query(format!(
            "INSERT INTO {table} (id, team_id, name) VALUES ($1, $2, 'row')"
        ))
        .bind::<SqlUuid, _>(row)
        .bind::<SqlUuid, _>(team)
        .execute(&mut conn)
        .unwrap();
    }
    // One connection per side (each closure holds its own), same settings.
    let mut other = PgConnection::establish(&f.url).unwrap();
    for (group, statements, key) in [
        ("capture_insert_interleaved", INSERT, team),
        ("capture_update_interleaved", UPDATE, TeamId(row)),
    ] {
        let name = |n: usize| if n % 2 == 0 { "even" } else { "odd" };
        crate::pair::interleaved(
            c,
            group,
            size,
            ("captured", "uncaptured"),
            |n| run(&mut conn, statements[0], key, name(n)),
            |n| run(&mut other, statements[1], key, name(n)),
        );
    }
    conn.batch_execute(
        "DELETE FROM projects WHERE name IN ('even', 'odd', 'row');
         DROP TABLE bench_projects_uncaptured;",
    )
    .unwrap();
    // Its own statement: VACUUM cannot run in the batch's implicit transaction.
    conn.batch_execute("VACUUM projects, changes").unwrap();
}

fn empty_poll(c: &mut Criterion, f: &Fixture) {
    let mut feed = f.db.change_feed(ChangeCursor::now()).unwrap();
    feed.poll(Duration::from_millis(100)).unwrap();
    let mut g = c.benchmark_group("feed_empty_poll");
    g.bench_function(BenchmarkId::new("saas_db", f.size.label), |b| {
        b.iter(|| assert!(feed.poll(Duration::from_micros(1)).unwrap().is_empty()))
    });
    g.finish();
}

/// Commit-to-return latency: a writer thread commits one project at a
/// time (the clock starts just before COMMIT is sent) while the feed waits
/// in `poll`; printed as p50 / p99 over the samples.
fn wake_up_latency(f: &Fixture, team: TeamId) {
    let samples = if crate::quick() { 200 } else { 1000 };
    let mut feed =
        f.db.change_feed(ChangeCursor::now())
            .unwrap()
            .tables(&[CapturedTable::Projects]);
    // What the benchmarks before left behind.
    while !feed.poll(Duration::from_millis(50)).unwrap().is_empty() {}
    let (tx, rx) = mpsc::channel::<Instant>();
    let (ack_tx, ack_rx) = mpsc::channel::<()>();
    let url = f.url.clone();
    let writer = std::thread::spawn(move || {
        let mut conn = PgConnection::establish(&url).unwrap();
        for _ in 0..samples {
            // Let the consumer get into its wait first.
            std::thread::sleep(Duration::from_millis(3));
            conn.batch_execute("BEGIN").unwrap();
            run(&mut conn, INSERT[0], team, "wake");
            let t = Instant::now();
            conn.batch_execute("COMMIT").unwrap();
            tx.send(t).unwrap();
            ack_rx.recv().unwrap();
        }
    });
    let mut latencies = Vec::with_capacity(samples);
    while latencies.len() < samples {
        let got = feed.poll(Duration::from_secs(5)).unwrap();
        let returned = Instant::now();
        for _ in &got {
            let committed = rx.recv().unwrap();
            latencies.push(returned.saturating_duration_since(committed));
            ack_tx.send(()).unwrap();
        }
    }
    writer.join().unwrap();
    latencies.sort();
    let pct = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];
    println!(
        "feed_wake_up/{}: p50 {:.2} ms, p99 {:.2} ms over {} commits ({} reads, {} notified, {} timer)",
        f.size.label,
        pct(50).as_secs_f64() * 1e3,
        pct(99).as_secs_f64() * 1e3,
        samples,
        feed.stats().queries,
        feed.stats().notified,
        feed.stats().rechecks,
    );
    f.db.conn()
        .unwrap()
        .batch_execute("DELETE FROM projects WHERE name = 'wake'")
        .unwrap();
}
