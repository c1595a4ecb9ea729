//! A concurrent request mix, the shape of a SaaS API request: validate a
//! session, get its user, list the first page of published posts, and in 1
//! of 10 requests rename the user (optimistic update) and record an audit
//! entry in one transaction.
//!
//! At 1, 2, 4 and 8 threads: ours on one shared `Database` whose pool has
//! as many connections as threads, and the same statements on the raw
//! `postgres` driver through a pool of as many prepared clients. Every
//! request checks a connection out of its pool and returns it. Each thread
//! count runs for a fixed time per side (3 s with `SAAS_DB_BENCH_QUICK`,
//! else 10 s), in 5 rounds of ours, raw, raw, ours (each run a tenth of
//! the time), so drift falls on both sides alike. Thread `t` of `T` uses the sessions
//! `k` with `k % T == t`, so two threads never update the same user.
//!
//! Not a criterion benchmark: it writes `target/bench-mix.json`, which
//! `examples/bench_report` prints as a table: requests per second, p50 and
//! p99 per request, errors, and the CPU time per request of the bench
//! process and of the server's backends (from `/proc`, when the server is
//! on this machine), which say which CPU limits the throughput.

use std::hint::black_box;
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use postgres::{Client, Statement};
use saas_db::audit::AuditEntry;
use saas_db::users::UserChanges;
use saas_db::{Database, PageRequest, Repos};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::fixture::Fixture;
use crate::raw;

/// Thread counts measured.
const THREADS: [usize; 4] = [1, 2, 4, 8];
/// Rounds of ours, raw, raw, ours per thread count.
const ROUNDS: u32 = 5;
const NAMES: [&str; 2] = ["Bench User", "Bench User 2"];

/// One side at one thread count.
#[derive(Default)]
struct Point {
    requests: u64,
    errors: u64,
    seconds: f64,
    /// CPU time of the whole bench process (user + system) meanwhile.
    cpu_seconds: f64,
    /// CPU time of the server's backends of this database meanwhile.
    server_cpu_seconds: f64,
    /// Per request, in microseconds.
    latencies: Vec<u32>,
}

impl Point {
    fn add(&mut self, other: Point) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.seconds += other.seconds;
        self.cpu_seconds += other.cpu_seconds;
        self.server_cpu_seconds += other.server_cpu_seconds;
        self.latencies.extend(other.latencies);
    }

    fn percentile(&mut self, p: f64) -> u32 {
        self.latencies.sort_unstable();
        let last = self.latencies.len().saturating_sub(1);
        self.latencies
            .get((last as f64 * p).round() as usize)
            .copied()
            .unwrap_or(0)
    }

    fn json(&mut self, threads: usize, side: &str) -> serde_json::Value {
        serde_json::json!({
            "threads": threads,
            "side": side,
            "requests": self.requests,
            "errors": self.errors,
            "seconds": self.seconds,
            "per_second": self.requests as f64 / self.seconds,
            "p50_us": self.percentile(0.50),
            "p99_us": self.percentile(0.99),
            "client_cpu_us_per_request": self.cpu_seconds * 1e6 / self.requests as f64,
            "server_cpu_us_per_request": self.server_cpu_seconds * 1e6 / self.requests as f64,
        })
    }
}

/// Runs the mix at every thread count and writes `target/bench-mix.json`.
pub fn run(f: &Fixture) {
    let per_side = Duration::from_secs(if crate::quick() { 3 } else { 10 });
    let mut results = Vec::new();
    for threads in THREADS {
        let db = Database::builder(&f.url)
            .max_size(threads as u32)
            .run_migrations(false)
            .build()
            .expect("a pool for the mix");
        let pool = RawPool::new(&f.url, threads);
        // Warm both pools: every connection prepares its statements.
        let warm = Duration::from_millis(300);
        run_side(&[], threads, warm, |t, n| ours(&db, f, t, threads, n));
        run_side(&[], threads, warm, |t, n| theirs(&pool, f, t, threads, n));
        let pids = backends(&f.url);
        // ROUNDS rounds of ours, raw, raw, ours: drift over the seconds a
        // thread count takes falls on both sides alike.
        let slice = per_side / (2 * ROUNDS);
        let (mut a, mut b) = (Point::default(), Point::default());
        for _ in 0..ROUNDS {
            a.add(run_side(&pids, threads, slice, |t, n| {
                ours(&db, f, t, threads, n)
            }));
            b.add(run_side(&pids, threads, slice, |t, n| {
                theirs(&pool, f, t, threads, n)
            }));
            b.add(run_side(&pids, threads, slice, |t, n| {
                theirs(&pool, f, t, threads, n)
            }));
            a.add(run_side(&pids, threads, slice, |t, n| {
                ours(&db, f, t, threads, n)
            }));
        }
        let (oa, ob) = (a.json(threads, "saas_db"), b.json(threads, "postgres"));
        eprintln!(
            "mix, {threads} threads: {:.0} requests/s ours, {:.0} raw, {} errors",
            a.requests as f64 / a.seconds,
            b.requests as f64 / b.seconds,
            a.errors + b.errors
        );
        results.push(oa);
        results.push(ob);
    }
    crate::write_results("bench-mix.json", &serde_json::Value::Array(results));
}

/// Runs `request(thread, n)` on `threads` threads for `time`; errors are
/// counted, not fatal.
fn run_side<E: std::fmt::Display>(
    backends: &[i32],
    threads: usize,
    time: Duration,
    request: impl Fn(usize, u64) -> Result<(), E> + Sync,
) -> Point {
    let start = Barrier::new(threads + 1);
    let points: Vec<Point> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (start, request) = (&start, &request);
                s.spawn(move || {
                    let mut point = Point::default();
                    start.wait();
                    let begun = Instant::now();
                    let mut n = 0u64;
                    while begun.elapsed() < time {
                        let sent = Instant::now();
                        if let Err(e) = request(t, n) {
                            if point.errors == 0 {
                                eprintln!("mix: request failed: {e}");
                            }
                            point.errors += 1;
                        }
                        point.latencies.push(sent.elapsed().as_micros() as u32);
                        n += 1;
                    }
                    point.requests = n;
                    point
                })
            })
            .collect();
        let cpu = cpu_seconds("self");
        let server_cpu = server_cpu_seconds(backends);
        start.wait();
        let begun = Instant::now();
        let mut points: Vec<Point> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        points[0].seconds = begun.elapsed().as_secs_f64();
        points[0].cpu_seconds = cpu_seconds("self") - cpu;
        points[0].server_cpu_seconds = server_cpu_seconds(backends) - server_cpu;
        points
    });
    let mut total = Point::default();
    for p in points {
        total.add(p);
    }
    total
}

/// User + system CPU time of process `pid` (`self` for this one), all
/// threads, from `/proc/<pid>/stat` (clock ticks of 1/100 s, Linux's
/// USER_HZ); 0 where that cannot be read.
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of proc(5), 11 and 12 here.
    (ticks(11) + ticks(12)) / 100.0
}

/// The CPU time of the server processes `backends` (on this machine).
fn server_cpu_seconds(backends: &[i32]) -> f64 {
    backends
        .iter()
        .map(|pid| cpu_seconds(&pid.to_string()))
        .sum()
}

/// The server processes serving `url`'s database (both pools' connections
/// among them), when the server runs on this machine.
fn backends(url: &str) -> Vec<i32> {
    let mut client = raw::connect(url);
    client
        .query(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()",
            &[],
        )
        .map(|rows| rows.iter().map(|r| r.get(0)).collect())
        .unwrap_or_default()
}

/// The session thread `t` of `threads` uses for its request `n`.
fn token(f: &Fixture, t: usize, threads: usize, n: u64) -> &str {
    let mine = f.tokens.len() / threads;
    &f.tokens[t + threads * (n as usize % mine)]
}

/// Every tenth request writes (offset by thread, so they do not all write at once).
fn writes(t: usize, n: u64) -> bool {
    (n + t as u64) % 10 == 0
}

fn ours(db: &Database, f: &Fixture, t: usize, threads: usize, n: u64) -> saas_db::Result<()> {
    let mut conn = db.conn()?;
    let (session, _) = conn.sessions().validate(token(f, t, threads, n))?;
    let user = conn.users().get(session.user_id)?;
    black_box(conn.posts().published(PageRequest::first(20))?);
    if writes(t, n) {
        saas_db::tx::run_transaction(&mut conn, |tx| {
            let changes = UserChanges {
                name: Some(NAMES[user.version as usize % 2].into()),
                ..Default::default()
            };
            let renamed = tx.users().update(user.id, user.version, &changes)?;
            tx.audit().record(
                &AuditEntry::new("renamed", "user", Some(renamed.id.into()))
                    .by(renamed.id)
                    .changes(serde_json::json!({ "name": { "before": user.name, "after": renamed.name } })),
            )?;
            Ok(())
        })?;
    }
    Ok(())
}

/// A raw client with the mix's statements prepared.
pub struct RawConn {
    pub client: Client,
    pub validate: Statement,
    pub user: Statement,
    pub page: Statement,
    update: Statement,
    audit: Statement,
}

/// The simplest pool: prepared clients in a vector behind a mutex.
pub struct RawPool(Mutex<Vec<RawConn>>);

impl RawPool {
    /// `size` clients, each with the mix's statements prepared.
    pub fn new(url: &str, size: usize) -> RawPool {
        let conns = (0..size)
            .map(|_| {
                let mut client = raw::connect(url);
                let mut prepare = |sql: &str| client.prepare(sql).unwrap();
                let (validate, user, page, update, audit) = (
                    prepare(raw::SESSION_VALIDATE),
                    prepare(raw::USER_BY_ID),
                    prepare(raw::PUBLISHED_FIRST),
                    prepare(raw::UPDATE_USER_NAME),
                    prepare(raw::AUDIT_INSERT),
                );
                RawConn {
                    client,
                    validate,
                    user,
                    page,
                    update,
                    audit,
                }
            })
            .collect();
        RawPool(Mutex::new(conns))
    }
}

impl RawPool {
    /// Runs `f` on a client checked out of the pool, then returns it.
    pub fn with<R>(&self, f: impl FnOnce(&mut RawConn) -> R) -> R {
        let mut c = self.take();
        let result = f(&mut c);
        self.0.lock().unwrap().push(c);
        result
    }

    /// Takes a client out for good (panics when none is idle).
    pub fn take(&self) -> RawConn {
        self.0.lock().unwrap().pop().expect("raw pool empty")
    }
}

fn theirs(pool: &RawPool, f: &Fixture, t: usize, threads: usize, n: u64) -> Result<(), String> {
    pool.with(|c| raw_request(c, f, t, threads, n).map_err(|e| e.to_string()))
}

fn raw_request(
    c: &mut RawConn,
    f: &Fixture,
    t: usize,
    threads: usize,
    n: u64,
) -> Result<(), postgres::Error> {
    let hash = Sha256::digest(token(f, t, threads, n).as_bytes());
    let row = c.client.query_one(&c.validate, &[&hash.as_slice()])?;
    let user_id: Uuid = row.get(1);
    black_box(raw::user(&row, 8));
    let user = raw::user(&c.client.query_one(&c.user, &[&user_id])?, 0);
    let page: Vec<raw::RawPost> = c
        .client
        .query(&c.page, &[])?
        .iter()
        .map(raw::post)
        .collect();
    black_box(page);
    if writes(t, n) {
        let mut tx = c.client.transaction()?;
        let version = user.version();
        let name = NAMES[version as usize % 2];
        let row = tx.query_one(&c.update, &[&user_id, &version, &name])?;
        let renamed = raw::user(&row, 0);
        let changes =
            serde_json::json!({ "name": { "before": user.name(), "after": renamed.name() } });
        raw::audit(&tx.query_one(&c.audit, &[&Uuid::now_v7(), &user_id, &changes])?);
        tx.commit()?;
    }
    Ok(())
}
