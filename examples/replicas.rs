//! Production topology end to end: (1) a write and its read-your-writes
//! token served by a streaming replica, (2) a read falling back to the
//! primary within the wait while the replica's replay is paused, and back to
//! the replica after resume, (3) the same repository calls through PgBouncer
//! in `pool_mode=transaction` with `transaction_pooling(true)`. Every fact it
//! prints is also asserted, so CI fails if the behaviour regresses.
//!
//! ```sh
//! cargo run --example replicas      # starts a primary, a replica and a PgBouncer
//! DATABASE_URL=postgres://…@primary/app REPLICA_URL=postgres://…@replica/app \
//!   PGBOUNCER_URL=postgres://…@pgbouncer:6432/app cargo run --example replicas
//! ```
//!
//! - `DATABASE_URL`: a direct URL of the primary. Unset: a throwaway primary,
//!   a streaming replica of it and a PgBouncer in front of it are started
//!   (and stopped and deleted on exit), and the role settings they need are
//!   applied and printed.
//! - `REPLICA_URL`: a hot standby of that primary (same database), as a
//!   superuser: part 2 pauses its replay. Unset with `DATABASE_URL`: parts 1
//!   and 2 are skipped.
//! - `PGBOUNCER_URL`: the same database through a transaction-mode pooler;
//!   its role must already apply `search_path = "replicas_example", public`
//!   (the example stops with the `ALTER ROLE` to run if not). Unset with
//!   `DATABASE_URL`: part 3 is skipped.
//!
//! Tables live in schema `replicas_example`.

use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use saas_db::ids::UserId;
use saas_db::replicas::Consistency;
use saas_db::users::{NewUser, User};
use saas_db::{Database, Error, PageRequest, Repos};
use saas_db_testing::EmbeddedPgBouncer;
use saas_db_testing::{EmbeddedPostgres, EmbeddedReplica};

const SCHEMA: &str = "replicas_example";
/// How long a read with a token waits for the replica (the default).
const WAIT: Duration = Duration::from_millis(50);
/// Role settings of the throwaway servers, applied by the example itself.
/// The throwaway primary runs with `synchronous_commit=off`, which lets the
/// WAL writer hold a commit back from the replica for up to 200 ms; on
/// (PostgreSQL's default) the replica has it within a millisecond or so.
const SYNC_COMMIT: &str = "ALTER ROLE postgres SET synchronous_commit = on";
/// What `build()` asks for in transaction-pooling mode with a schema: the
/// role must apply the schema's `search_path` on every server connection.
const SEARCH_PATH: &str =
    "ALTER ROLE \"postgres\" IN DATABASE \"postgres\" SET search_path = \"replicas_example\", public";

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// The servers this run uses; the started ones are kept alive here and
/// stopped (and deleted) when this is dropped, even on panic.
struct Topology {
    primary_url: String,
    replica_url: Option<String>,
    bouncer_url: Option<String>,
    primary: Option<EmbeddedPostgres>,
    bouncer: Option<EmbeddedPgBouncer>,
    _replica: Option<EmbeddedReplica>,
}

/// One boolean answer (`SELECT .. AS yes`).
#[derive(QueryableByName)]
struct Flag {
    #[diesel(sql_type = Bool)]
    yes: bool,
}

fn main() -> Res<()> {
    let top = topology()?;
    let tag = run_tag();
    if let Some(replica_url) = top.replica_url.clone() {
        replicas(&top, &replica_url, &tag)?;
    } else {
        println!("REPLICA_URL not set: parts 1 and 2 (replicas) skipped");
    }
    let started_here = top.primary.is_some();
    if top.bouncer_url.is_some() {
        pgbouncer(top, &tag)?;
    } else {
        println!("PGBOUNCER_URL not set: part 3 (PgBouncer) skipped");
    }
    if started_here {
        println!("\ndone; the servers started here are stopped and deleted on exit");
    } else {
        println!("\ndone");
    }
    Ok(())
}

/// The given URLs, or a throwaway primary, replica and PgBouncer.
fn topology() -> Res<Topology> {
    let env = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
    if let Some(primary_url) = env("DATABASE_URL") {
        return Ok(Topology {
            primary_url,
            replica_url: env("REPLICA_URL"),
            bouncer_url: env("PGBOUNCER_URL"),
            primary: None,
            bouncer: None,
            _replica: None,
        });
    }
    if env("REPLICA_URL").is_some() || env("PGBOUNCER_URL").is_some() {
        return Err("REPLICA_URL and PGBOUNCER_URL need the DATABASE_URL of their primary".into());
    }
    let started = Instant::now();
    let primary = EmbeddedPostgres::start()?;
    execute(primary.url(), SYNC_COMMIT)?;
    let replica = EmbeddedReplica::start_from(&primary)?;
    // One server connection: every client of the pooler shares it, which is
    // where a cached prepared statement or a session setting would go wrong.
    let bouncer = EmbeddedPgBouncer::start(primary.url(), 1)?;
    println!(
        "started a throwaway primary, a streaming replica of it and a PgBouncer \
         (pool_mode=transaction, pool_size=1) in {} ms",
        started.elapsed().as_millis()
    );
    println!("applied on the primary: {SYNC_COMMIT};");
    Ok(Topology {
        primary_url: primary.url().to_owned(),
        replica_url: Some(replica.url().to_owned()),
        bouncer_url: Some(bouncer.url().to_owned()),
        primary: Some(primary),
        bouncer: Some(bouncer),
        _replica: Some(replica),
    })
}

/// Parts 1 and 2: a read with a token on the replica; a fallback while the
/// replica's replay is paused.
fn replicas(top: &Topology, replica_url: &str, tag: &str) -> Res<()> {
    let db = Database::builder(&top.primary_url)
        .schema(SCHEMA)
        .replica(replica_url)
        .replica_wait(WAIT)
        .build()?;
    let mut standby = PgConnection::establish(replica_url)?;
    // `build` may just have migrated: lots of WAL the replica must replay
    // before it serves any token taken after it (reads meanwhile go to the
    // primary). Wait for that here, so part 1 shows a caught-up replica.
    let (_, migrated) = db.write(|_| Ok(()))?;
    let started = Instant::now();
    while !replayed(&mut standby, &migrated.to_string())? {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the replica did not replay up to {migrated} within 30 s"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    println!(
        "replica replayed up to {migrated} (the schema's migrations) after {} ms",
        started.elapsed().as_millis()
    );

    println!("\n1. read your write on the replica");
    let email = format!("rw-{tag}@example.com");
    let (user, token) = db.write(|tx| tx.users().create(&NewUser::new(&email, "Rita")))?;
    println!("   db.write created {} -> token {token}", user.email);
    assert!(
        token.lsn() > 0,
        "a write with replicas configured has a token"
    );
    let cookie = token.to_string();
    let token = cookie.parse()?;
    let before = db.pool_status();
    let (on_replica, read) = read_user(&db, Consistency::AtLeast(&token), user.id)?;
    let after = db.pool_status();
    println!(
        "   read(AtLeast({cookie})): found {:?}, pg_is_in_recovery() = {on_replica}, \
         replica_reads {} -> {}",
        read.map(|u| u.email),
        before.replica_reads,
        after.replica_reads
    );
    assert!(on_replica, "the read with a token ran on the replica");
    assert_eq!(after.replica_reads, before.replica_reads + 1);
    let health = db.health();
    for check in health.checks.iter().filter(|c| c.name == "replica") {
        println!("   health: {}", check.detail);
        assert!(check.ok, "the replica is healthy: {}", check.detail);
    }

    println!("\n2. replay paused on the replica");
    diesel::sql_query("SELECT pg_wal_replay_pause()").execute(&mut standby)?;
    println!("   ran SELECT pg_wal_replay_pause() on the replica");
    let email = format!("paused-{tag}@example.com");
    let (user, token) = db.write(|tx| tx.users().create(&NewUser::new(&email, "Paula")))?;
    let before = db.pool_status();
    let started = Instant::now();
    let (on_replica, read) = read_user(&db, Consistency::AtLeast(&token), user.id)?;
    let took = started.elapsed();
    let after = db.pool_status();
    println!(
        "   read(AtLeast({token})): found it: {}, on the replica: {on_replica}, \
         after {} ms (wait {} ms), replica_fallbacks {} -> {}",
        read.is_some(),
        took.as_millis(),
        WAIT.as_millis(),
        before.replica_fallbacks,
        after.replica_fallbacks
    );
    assert!(read.is_some(), "the fallback read sees the write");
    assert!(!on_replica, "the read fell back to the primary");
    assert_eq!(after.replica_fallbacks, before.replica_fallbacks + 1);
    assert!(
        took >= WAIT && took < WAIT + Duration::from_millis(500),
        "the fallback came after the wait budget and soon after it: {took:?}"
    );
    let (_, stale) = read_user(&db, Consistency::Any, user.id)?;
    println!(
        "   read(Any) on the paused replica: found it: {}",
        stale.is_some()
    );
    assert!(
        stale.is_none(),
        "the paused replica has not replayed the write"
    );

    diesel::sql_query("SELECT pg_wal_replay_resume()").execute(&mut standby)?;
    let before = db.pool_status();
    let (on_replica, read) = read_user(&db, Consistency::AtLeast(&token), user.id)?;
    let after = db.pool_status();
    println!(
        "   after SELECT pg_wal_replay_resume(): found it: {}, on the replica: {on_replica}, \
         replica_reads {} -> {}",
        read.is_some(),
        before.replica_reads,
        after.replica_reads
    );
    assert!(read.is_some() && on_replica, "back on the replica");
    assert_eq!(after.replica_reads, before.replica_reads + 1);
    Ok(())
}

/// Part 3: repository calls through PgBouncer in transaction mode.
fn pgbouncer(mut top: Topology, tag: &str) -> Res<()> {
    println!("\n3. through PgBouncer (transaction pooling)");
    let url = top.bouncer_url.clone().expect("checked by main");
    let pooled = |url: &str| {
        Database::builder(url)
            .schema(SCHEMA)
            .max_size(2)
            .transaction_pooling(true)
            .build()
    };
    if let Some(primary) = &top.primary {
        // Our own servers: show the refusal, apply the setting it names,
        // and give PgBouncer fresh server connections (role settings apply
        // when a connection starts).
        match pooled(&url) {
            Err(Error::Pooled { ref what, ref fix }) if what == "search_path" => {
                println!("   build() refused: {what}: {fix}");
                assert!(fix.contains(SEARCH_PATH), "the fix names {SEARCH_PATH}");
            }
            other => panic!("expected Error::Pooled for search_path, got {other:?}"),
        }
        execute(primary.url(), SEARCH_PATH)?;
        println!("   applied on the primary: {SEARCH_PATH};");
        drop(top.bouncer.take());
        let bouncer = EmbeddedPgBouncer::start(primary.url(), 1)?;
        println!("   restarted PgBouncer so its server connections start with it");
        top.bouncer_url = Some(bouncer.url().to_owned());
        top.bouncer = Some(bouncer);
    }
    let url = top.bouncer_url.clone().expect("set above");
    // Two pools, as two application processes sharing the pooler.
    let (a, b) = (pooled(&url)?, pooled(&url)?);
    println!("   two pools built with transaction_pooling(true): no statement cache, no session settings");

    let email = format!("pooled-{tag}@example.com");
    let user = a.conn()?.users().create(&NewUser::new(&email, "Pia"))?;
    let got = b.conn()?.users().get(user.id)?;
    println!("   pool a created {}, pool b got {}", user.email, got.email);
    assert_eq!(got.id, user.id);

    let total = a.transaction(|tx| {
        for i in 1..=3 {
            let email = format!("pooled-{tag}-{i}@example.com");
            tx.users()
                .create(&NewUser::new(&email, format!("Team {i}")))?;
        }
        tx.users().count()
    })?;
    println!("   a transaction created 3 more users; {total} users now");
    assert!(total >= 4, "the transaction saw its own users");

    let page = b.conn()?.users().list(PageRequest::first(2))?;
    let next = page.next_cursor().expect("more than two users");
    let page2 = a.conn()?.users().list(PageRequest::after(next, 2))?;
    println!(
        "   page 1 (pool b): {}; page 2 (pool a): {}",
        emails(&page.items),
        emails(&page2.items)
    );
    assert_eq!((page.items.len(), page2.items.len()), (2, 2));
    assert!(page2.items.iter().all(|u| !page.items.contains(u)));

    let mut errors = Vec::new();
    for i in 0..50 {
        let email = format!("turns-{tag}-{i}@example.com");
        let made = a
            .conn()
            .and_then(|mut c| c.users().create(&NewUser::new(&email, "T")));
        let read = made.and_then(|u| b.conn().and_then(|mut c| c.users().get(u.id)));
        match read {
            Ok(u) => assert_eq!(u.email, email, "pool b read the user pool a created"),
            Err(e) => errors.push(e),
        }
    }
    println!(
        "   100 interleaved repository calls by the two pools: {} errors",
        errors.len()
    );
    assert!(errors.is_empty(), "errors through PgBouncer: {errors:?}");
    Ok(())
}

/// Reads a user inside `read`, with whether the read ran on a standby.
fn read_user(db: &Database, consistency: Consistency<'_>, id: UserId) -> Res<(bool, Option<User>)> {
    Ok(db.read(consistency, |c| {
        let standby =
            diesel::sql_query("SELECT pg_is_in_recovery() AS yes").get_result::<Flag>(c)?;
        Ok((standby.yes, c.users().find(id)?))
    })?)
}

/// Whether the standby has replayed the WAL up to `lsn` (a token's text).
fn replayed(standby: &mut PgConnection, lsn: &str) -> Res<bool> {
    Ok(
        diesel::sql_query("SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false) AS yes")
            .bind::<Text, _>(lsn)
            .get_result::<Flag>(standby)?
            .yes,
    )
}

/// Runs one fixed statement (no values) on a direct connection.
fn execute(url: &str, sql: &str) -> Res<()> {
    let mut conn = PgConnection::establish(url)?;
    diesel::sql_query(sql).execute(&mut conn)?;
    Ok(())
}

fn emails(users: &[User]) -> String {
    users
        .iter()
        .map(|u| u.email.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A tag that makes this run's emails unique, so the example can run again
/// against the same database.
fn run_tag() -> String {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or_default();
    format!("{:x}", micros)
}
