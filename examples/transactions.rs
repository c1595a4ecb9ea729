//! The bad day, handled, and the operations toolkit, each call run and its
//! result printed: (1) a retried serializable transaction
//! (`transaction_with_retry`), (2) a row lock that refuses to wait
//! (`try_lock` -> `Error::Locked`), (3) a COPY import past the
//! bind-parameter limit (`import`), a COPY of audit entries (`record_many`)
//! and a chunked batch update (`batch_update`), (4) a per-transaction
//! statement timeout (`Error::Timeout`), (5) queue-style claiming with
//! Diesel's `.for_update().skip_locked()` (four workers, every job once),
//! (6) a full pool (`Error::PoolTimeout`), (7) the `tracing` event of a
//! statement, and (8) `health`, `pool_status`, `connection_stats`,
//! `table_sizes` and `slow_queries` (`pg_stat_statements`, which the
//! throwaway server preloads; elsewhere it may print `NotAvailable`).
//!
//! ```sh
//! cargo run --example transactions     # throwaway PostgreSQL unless DATABASE_URL is set
//! ```

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer};
use saas_db::audit::AuditEntry;
use saas_db::tx::{Isolation, RetryPolicy};
use saas_db::users::{NewUser, UserChanges};
use saas_db::{Database, Error, PageRequest, Repos};

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (url, _server) = saas_db_testing::EmbeddedPostgres::url_or_start()?;
    let db = Database::builder(&url).schema("tx_example").build()?;

    retried_write_skew(&db)?;
    refused_lock(&db)?;
    bulk(&db)?;
    timeout(&db)?;
    skip_locked_queue(&db)?;
    pool_timeout(&url)?;
    traced(&db)?;

    let report = db.health();
    println!("\n8. health: {:?} in {:?}", report.status, report.elapsed);
    for check in &report.checks {
        println!("   {:<11} {:<5} {}", check.name, check.ok, check.detail);
    }
    let pool = db.pool_status();
    println!(
        "   pool: {} connections ({} idle), {} checkouts, {} waited, {} timed out",
        pool.connections, pool.idle, pool.checkouts, pool.waits, pool.timeouts
    );
    let stats = db.connection_stats()?;
    println!(
        "   server connections: {} ({} active, {} idle, {} idle in transaction)",
        stats.total, stats.active, stats.idle, stats.idle_in_transaction
    );
    // Row estimates come from the planner's statistics: fresh after ANALYZE
    // (autovacuum runs it in the background, later).
    db.conn()?.batch_execute("ANALYZE")?;
    println!("   largest tables:");
    for t in db.table_sizes()?.iter().take(4) {
        println!(
            "   {:<14} ~{:>7} rows {:>9} bytes ({} in indexes)",
            t.table, t.rows_estimate, t.total_bytes, t.index_bytes
        );
    }
    // The extension must exist in the database; the server preloads it.
    let created = diesel::sql_query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .execute(&mut *db.conn()?);
    match (created, db.slow_queries(3)) {
        (Ok(_), Ok(slow)) => {
            println!("   slowest statements by mean time:");
            for q in slow {
                let sql: String = q.query.split_whitespace().collect::<Vec<_>>().join(" ");
                let sql: String = sql.chars().take(60).collect();
                println!("   {:>9.2} ms x {:<6} {sql}", q.mean_ms, q.calls);
            }
        }
        (_, Err(e @ Error::NotAvailable(_))) => println!("   slow_queries: {e}"),
        (Err(e), _) => println!("   pg_stat_statements not available here: {e}"),
        (_, Err(e)) => return Err(e.into()),
    }
    Ok(())
}

diesel::table! {
    /// The example's job queue.
    jobs (id) {
        id -> Integer,
        worker -> Nullable<Integer>,
    }
}

/// 200 jobs, four workers; each claims the next free job with `FOR UPDATE
/// SKIP LOCKED` in its own transaction, so none waits for another and no
/// job runs twice.
fn skip_locked_queue(db: &Database) -> Result<(), Box<dyn std::error::Error>> {
    println!("\n5. work claiming with FOR UPDATE SKIP LOCKED");
    db.conn()?.batch_execute(
        "CREATE TABLE IF NOT EXISTS jobs (id int PRIMARY KEY, worker int);
         TRUNCATE jobs; INSERT INTO jobs SELECT g, NULL FROM generate_series(1, 200) g;",
    )?;
    let claimed: Vec<u32> = std::thread::scope(|s| {
        let workers: Vec<_> = (1..=4)
            .map(|me: i32| {
                s.spawn(move || -> saas_db::Result<u32> {
                    let mut done = 0;
                    // At most every job, so a broken queue cannot spin.
                    for _ in 0..200 {
                        let claimed = db.transaction(|tx| {
                            let next = jobs::table
                                .filter(jobs::worker.is_null())
                                .select(jobs::id)
                                .order(jobs::id)
                                .limit(1)
                                .for_update()
                                .skip_locked()
                                .get_result::<i32>(tx)
                                .optional()?;
                            if let Some(id) = next {
                                diesel::update(jobs::table.find(id))
                                    .set(jobs::worker.eq(me))
                                    .execute(tx)?;
                            }
                            Ok(next.is_some())
                        })?;
                        if !claimed {
                            break;
                        }
                        done += 1;
                    }
                    Ok(done)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("worker"))
            .collect::<saas_db::Result<_>>()
    })?;
    let unclaimed = diesel::sql_query("SELECT count(*) AS n FROM jobs WHERE worker IS NULL")
        .get_result::<Count>(&mut *db.conn()?)?
        .n;
    println!(
        "   jobs per worker: {claimed:?} (total {}), unclaimed: {unclaimed}",
        claimed.iter().sum::<u32>()
    );
    Ok(())
}

/// A pool of one, held: the next checkout waits `connection_timeout` and
/// gives `Error::PoolTimeout`.
fn pool_timeout(url: &str) -> Result<(), Box<dyn std::error::Error>> {
    println!("\n6. a full pool");
    let small = Database::builder(url)
        .schema("tx_example")
        .run_migrations(false)
        .max_size(1)
        .connection_timeout(Duration::from_millis(200))
        .build()?;
    let _held = small.conn()?;
    match small.conn() {
        Err(e @ Error::PoolTimeout { .. }) => {
            println!("   second checkout: {e}; retryable: {}", e.is_retryable())
        }
        Err(other) => return Err(format!("expected PoolTimeout, got {other:?}").into()),
        Ok(_) => return Err("expected PoolTimeout, got a connection".into()),
    }
    Ok(())
}

/// One repository call under a `tracing` subscriber: its statement's event
/// (target `saas_db::sql`) with the SQL and duration, no bind values; and
/// `record_many` writing 1,000 audit entries with one COPY.
fn traced(db: &Database) -> Result<(), Box<dyn std::error::Error>> {
    println!("\n7. tracing and record_many");
    let mut conn = db.conn()?;
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .without_time()
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        conn.users().find_by_email("traced@example.com").map(drop)
    })?;
    let entries: Vec<AuditEntry> = (0..1000)
        .map(|_| AuditEntry::new("imported", "report", None))
        .collect();
    let n = conn.audit().record_many(&entries)?;
    println!("   record_many: {n} audit entries in one COPY");
    Ok(())
}

/// Two on-call doctors each go off call if the other is still on. Under
/// SERIALIZABLE one commit is refused and re-run; the invariant holds.
fn retried_write_skew(db: &Database) -> Result<(), Box<dyn std::error::Error>> {
    println!("1. write skew under SERIALIZABLE, with retries");
    db.conn()?.batch_execute(
        "CREATE TABLE IF NOT EXISTS doctors (id int PRIMARY KEY, on_call bool NOT NULL);
         TRUNCATE doctors; INSERT INTO doctors VALUES (1, true), (2, true);",
    )?;
    let barrier = Arc::new(Barrier::new(2));
    let runs = Arc::new(AtomicU32::new(0));
    let threads: Vec<_> = [1, 2]
        .into_iter()
        .map(|me| {
            let (db, barrier, runs) = (db.clone(), barrier.clone(), runs.clone());
            std::thread::spawn(move || {
                let policy = RetryPolicy::new().isolation(Isolation::Serializable);
                db.transaction_with_retry(&policy, |tx| {
                    let on_call =
                        diesel::sql_query("SELECT count(*) AS n FROM doctors WHERE on_call")
                            .get_result::<Count>(tx)?
                            .n;
                    if runs.fetch_add(1, Ordering::SeqCst) < 2 {
                        barrier.wait(); // both read before either writes
                    }
                    if on_call >= 2 {
                        diesel::sql_query("UPDATE doctors SET on_call = false WHERE id = $1")
                            .bind::<Integer, _>(me)
                            .execute(tx)?;
                    }
                    Ok(())
                })
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread")?;
    }
    let left = diesel::sql_query("SELECT count(*) AS n FROM doctors WHERE on_call")
        .get_result::<Count>(&mut *db.conn()?)?
        .n;
    println!(
        "   {} transaction runs for 2 transactions; doctors still on call: {left}",
        runs.load(Ordering::SeqCst)
    );
    Ok(())
}

/// One transaction holds a user's row; another asks for it with NOWAIT.
fn refused_lock(db: &Database) -> Result<(), Box<dyn std::error::Error>> {
    println!("\n2. row locks");
    let user = db
        .conn()?
        .users()
        .create(&NewUser::new("locked@example.com", "Locked"))?;
    let mut holder = db.conn()?;
    holder.batch_execute("BEGIN")?;
    holder.users().lock(user.id)?;
    match db.transaction(|tx| tx.users().try_lock(user.id)) {
        Err(e @ Error::Locked) => println!("   try_lock while another transaction holds it: {e}"),
        other => return Err(format!("expected Locked, got {other:?}").into()),
    }
    holder.batch_execute("COMMIT")?;
    db.transaction(|tx| tx.users().try_lock(user.id))?;
    println!("   after the holder commits: locked fine");
    Ok(())
}

/// 100,000 users by COPY, then renamed in chunks of 1,000.
fn bulk(db: &Database) -> Result<(), Box<dyn std::error::Error>> {
    println!("\n3. bulk writes");
    let mut conn = db.conn()?;
    let emails: Vec<String> = (0..100_000)
        .map(|i| format!("bulk{i}@example.com"))
        .collect();
    let users: Vec<NewUser> = emails.iter().map(|e| NewUser::new(e, "Bulk")).collect();
    let started = Instant::now();
    let n = conn.users().import(&users)?;
    let took = started.elapsed();
    println!(
        "   COPY imported {n} users in {took:.2?} ({:.0} rows/s; one INSERT would need {} bind parameters)",
        n as f64 / took.as_secs_f64(),
        n * 8
    );
    let page = conn.users().list(PageRequest::first(1000))?;
    let names: Vec<String> = (0..page.items.len())
        .map(|i| format!("Renamed {i}"))
        .collect();
    let updates: Vec<_> = page
        .items
        .iter()
        .zip(&names)
        .map(|(u, name)| {
            (
                u.id,
                UserChanges {
                    name: Some(name.into()),
                    ..Default::default()
                },
            )
        })
        .collect();
    let report = conn.users().batch_update(&updates, 250)?;
    println!(
        "   batch update: {} rows in {} chunks, {} missing, failed: {:?}",
        report.updated,
        report.chunks_committed,
        report.missing.len(),
        report.failed
    );
    Ok(())
}

/// A per-transaction statement timeout cancels a slow statement and rolls
/// back what the transaction wrote.
fn timeout(db: &Database) -> Result<(), Box<dyn std::error::Error>> {
    println!("\n4. per-transaction statement timeout");
    let policy = RetryPolicy::new().statement_timeout(Duration::from_millis(100));
    let result = db.transaction_with_retry(&policy, |tx| {
        tx.users()
            .create(&NewUser::new("slow@example.com", "Slow"))?;
        diesel::sql_query("SELECT pg_sleep(1)").execute(tx)?;
        Ok(())
    });
    match result {
        Err(e @ Error::Timeout) => println!("   {e}; retryable: {}", e.is_retryable()),
        other => return Err(format!("expected Timeout, got {other:?}").into()),
    }
    let kept = db.conn()?.users().find_by_email("slow@example.com")?;
    println!(
        "   the user created before the timeout was rolled back: {}",
        kept.is_none()
    );
    Ok(())
}
