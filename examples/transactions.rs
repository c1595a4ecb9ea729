//! The bad day, handled: a retried serializable transaction, a row lock
//! that refuses to wait, a COPY import past the bind-parameter limit, a
//! chunked batch update, a per-transaction timeout, and the health report.
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
use saas_db::tx::{Isolation, RetryPolicy};
use saas_db::users::{NewUser, UserChanges};
use saas_db::{Database, Error, PageRequest, Repos};

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (url, _server) = saas_db::embedded::EmbeddedPostgres::url_or_start()?;
    let db = Database::builder(&url).schema("tx_example").build()?;

    retried_write_skew(&db)?;
    refused_lock(&db)?;
    bulk(&db)?;
    timeout(&db)?;

    let report = db.health();
    println!("\n5. health: {:?} in {:?}", report.status, report.elapsed);
    for check in &report.checks {
        println!("   {:<11} {:<5} {}", check.name, check.ok, check.detail);
    }
    let pool = db.pool_status();
    println!(
        "   pool: {} connections ({} idle), {} checkouts, {} waited, {} timed out",
        pool.connections, pool.idle, pool.checkouts, pool.waits, pool.timeouts
    );
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
                    name: Some(name),
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
