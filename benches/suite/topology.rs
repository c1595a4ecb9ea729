//! Production topology, each row an interleaved pair (see `pair`) against
//! the direct path on the same server in the same run:
//!
//! - `get_user_by_id_pgbouncer`: a primary-key get through PgBouncer in
//!   transaction mode (`transaction_pooling(true)`, statement cache off)
//!   against the same get direct (cached statement);
//! - `write_token`: `Database::write` with a replica configured (the commit
//!   plus the WAL position for the token) against `Database::transaction`
//!   doing the same write;
//! - `replica_read`: a read with `Consistency::AtLeast` on a replica that
//!   has already replayed the token against a `Consistency::Primary` read of
//!   the same row.
//!
//! The servers: `PGBOUNCER_URL` and `REPLICA_URL` when set (`scripts/bench.sh`
//! sets them from `examples/pg_server.rs`, which starts both pinned with the
//! server); else, when the bench started its own throwaway server, a
//! PgBouncer and a streaming replica of it are started here. A row whose
//! server is missing is skipped with a note.

use std::time::{Duration, Instant};

use criterion::Criterion;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use saas_db::replicas::{Consistency, WriteToken};
use saas_db::{Database, Repos};
use saas_db_testing::url_with_database;
use saas_db_testing::EmbeddedPgBouncer;
use saas_db_testing::{EmbeddedPostgres, EmbeddedReplica};

use crate::fixture::{Fixture, SAMPLE};
use crate::pair;

/// PgBouncer's server connections per database and user.
const BOUNCER_POOL: u32 = 4;
/// How long to wait for the replica to replay the fixture before skipping.
const CATCH_UP: Duration = Duration::from_secs(120);

/// The PgBouncer and replica in front of / behind the bench server, kept
/// alive for the run when started here.
pub struct Servers {
    pgbouncer_url: Option<String>,
    replica_url: Option<String>,
    _bouncer: Option<EmbeddedPgBouncer>,
    _replica: Option<EmbeddedReplica>,
}

fn env_url(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Servers {
    /// From `PGBOUNCER_URL` / `REPLICA_URL`, or started in front of / from
    /// `own` (the bench's throwaway server) when it is one.
    pub fn find(admin_url: &str, own: Option<&EmbeddedPostgres>) -> Servers {
        let (mut bouncer, mut replica) = (None, None);
        let pgbouncer_url = env_url("PGBOUNCER_URL").or_else(|| {
            own?;
            match EmbeddedPgBouncer::start(admin_url, BOUNCER_POOL) {
                Ok(b) => bouncer.insert(b).url().to_owned().into(),
                Err(e) => {
                    eprintln!("note: no PgBouncer ({e}); the PgBouncer row is skipped");
                    None
                }
            }
        });
        let replica_url =
            env_url("REPLICA_URL").or_else(|| match EmbeddedReplica::start_from(own?) {
                Ok(r) => replica.insert(r).url().to_owned().into(),
                Err(e) => {
                    eprintln!("note: no replica ({e}); the replica rows are skipped");
                    None
                }
            });
        if pgbouncer_url.is_none() && own.is_none() {
            eprintln!("note: PGBOUNCER_URL not set; the PgBouncer row is skipped");
        }
        if replica_url.is_none() && own.is_none() {
            eprintln!("note: REPLICA_URL not set; the replica rows are skipped");
        }
        Servers {
            pgbouncer_url,
            replica_url,
            _bouncer: bouncer,
            _replica: replica,
        }
    }
}

pub fn all(c: &mut Criterion, f: &Fixture, servers: &Servers) {
    if let Some(url) = &servers.pgbouncer_url {
        pgbouncer_get(c, f, &url_with_database(url, f.size.database));
    }
    if let Some(url) = &servers.replica_url {
        let url = url_with_database(url, f.size.database);
        let db = Database::builder(&f.url)
            .max_size(4)
            .replica(&url)
            .run_migrations(false)
            .build()
            .expect("connect with a replica");
        f.db.conn().unwrap().batch_execute("VACUUM users").unwrap();
        write_token(c, f, &db);
        match caught_up(&db, &url, f) {
            Some(token) => replica_read(c, f, &db, &token),
            None => eprintln!(
                "note: the replica did not replay {} within {CATCH_UP:?}; replica_read skipped",
                f.size.database
            ),
        }
    }
}

fn pgbouncer_get(c: &mut Criterion, f: &Fixture, url: &str) {
    let pooled_db = match Database::builder(url)
        .max_size(2)
        .transaction_pooling(true)
        .run_migrations(false)
        .build()
    {
        Ok(db) => db,
        Err(e) => {
            eprintln!("note: cannot use {url} in transaction_pooling mode ({e}); row skipped");
            return;
        }
    };
    let mut direct = f.db.conn().unwrap();
    let mut through = pooled_db.conn().unwrap();
    pair::interleaved(
        c,
        "get_user_by_id_pgbouncer",
        f.size.label,
        ("direct", "pgbouncer"),
        |n| direct.users().get(f.user_ids[n % SAMPLE]).unwrap(),
        |n| through.users().get(f.user_ids[n % SAMPLE]).unwrap(),
    );
}

/// The same one-row write both ways (a sign-in timestamp).
fn write_token(c: &mut Criterion, f: &Fixture, db: &Database) {
    pair::interleaved(
        c,
        "write_token",
        f.size.label,
        ("transaction", "write"),
        |n| {
            let id = f.user_ids[n % SAMPLE];
            db.transaction(|tx| tx.users().record_login(id)).unwrap()
        },
        |n| {
            let id = f.user_ids[(n + SAMPLE / 2) % SAMPLE];
            let (_, token) = db.write(|tx| tx.users().record_login(id)).unwrap();
            assert!(
                token.lsn() > 0,
                "a token is taken with a replica configured"
            );
        },
    );
}

#[derive(QueryableByName)]
struct Replayed {
    #[diesel(sql_type = Bool)]
    done: bool,
}

/// A token for a fresh write, once the replica has replayed it (the
/// database appears on the replica once its creation is replayed).
fn caught_up(db: &Database, replica_url: &str, f: &Fixture) -> Option<WriteToken> {
    let id = f.user_ids[0];
    let (_, token) = db.write(|tx| tx.users().record_login(id)).ok()?;
    let deadline = Instant::now() + CATCH_UP;
    while Instant::now() < deadline {
        let done = PgConnection::establish(replica_url).ok().and_then(|mut c| {
            diesel::sql_query("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done")
                .bind::<Text, _>(token.to_string())
                .get_result::<Replayed>(&mut c)
                .ok()
        });
        if done.is_some_and(|r| r.done) {
            return Some(token);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

fn replica_read(c: &mut Criterion, f: &Fixture, db: &Database, token: &WriteToken) {
    let before = db.pool_status();
    pair::interleaved(
        c,
        "replica_read",
        f.size.label,
        ("primary", "at_least"),
        |n| {
            let id = f.user_ids[n % SAMPLE];
            db.read(Consistency::Primary, |c| c.users().get(id))
                .unwrap()
        },
        |n| {
            let id = f.user_ids[n % SAMPLE];
            db.read(Consistency::AtLeast(token), |c| c.users().get(id))
                .unwrap()
        },
    );
    let after = db.pool_status();
    let fallbacks = after.replica_fallbacks - before.replica_fallbacks;
    let served = after.replica_reads - before.replica_reads;
    eprintln!("replica_read: {served} AtLeast reads served by the replica, {fallbacks} fell back");
    if fallbacks > 0 {
        eprintln!("WARNING: replica_read/at_least includes {fallbacks} reads on the primary");
    }
}
