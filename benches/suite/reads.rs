//! Lookups, three ways each: the repository on a pooled connection, the
//! same query hand-written in Diesel on a bare connection, and a prepared
//! statement on the raw `postgres` client.

use criterion::{BenchmarkId, Criterion};
use diesel::dsl::now;
use diesel::prelude::*;
use saas_db::auth::Session;
use saas_db::schema::{sessions, users};
use saas_db::users::User;
use saas_db::Repos;
use sha2::{Digest, Sha256};

use crate::fixture::{Fixture, SAMPLE};
use crate::pair;
use crate::raw::{self, user_columns};

/// Cycles through the sample.
fn next(i: &mut usize) -> usize {
    *i = (*i + 1) % SAMPLE;
    *i
}

pub fn all(c: &mut Criterion, f: &Fixture) {
    let mut pooled = f.db.conn().unwrap();
    let mut bare = PgConnection::establish(&f.url).unwrap();
    let mut client = raw::connect(&f.url);
    let size = f.size.label;
    let mut i = 0;

    let mut g = c.benchmark_group("get_user_by_id");
    g.bench_function(BenchmarkId::new("saas_db", size), |b| {
        b.iter(|| pooled.users().get(f.user_ids[next(&mut i)]).unwrap())
    });
    g.bench_function(BenchmarkId::new("diesel", size), |b| {
        b.iter(|| {
            users::table
                .filter(users::id.eq(f.user_ids[next(&mut i)]))
                .filter(users::deleted_at.is_null())
                .select(User::as_select())
                .first::<User>(&mut bare)
                .unwrap()
        })
    });
    let by_id = client.prepare(raw::USER_BY_ID).unwrap();
    g.bench_function(BenchmarkId::new("postgres", size), |b| {
        b.iter(|| {
            raw::user(
                &client
                    .query_one(&by_id, &[&f.user_ids[next(&mut i)].uuid()])
                    .unwrap(),
                0,
            )
        })
    });
    g.finish();

    // The same two, interleaved call by call (see `pair`). The primary-key
    // target is read from here.
    pair::interleaved(
        c,
        "get_user_by_id_interleaved",
        size,
        ("saas_db", "diesel"),
        |n| pooled.users().get(f.user_ids[n % SAMPLE]).unwrap(),
        |n| {
            users::table
                .filter(users::id.eq(f.user_ids[n % SAMPLE]))
                .filter(users::deleted_at.is_null())
                .select(User::as_select())
                .first::<User>(&mut bare)
                .unwrap()
        },
    );

    let mut g = c.benchmark_group("find_user_by_email");
    g.bench_function(BenchmarkId::new("saas_db", size), |b| {
        b.iter(|| {
            pooled
                .users()
                .find_by_email(&f.emails[next(&mut i)])
                .unwrap()
                .unwrap()
        })
    });
    g.bench_function(BenchmarkId::new("diesel", size), |b| {
        b.iter(|| {
            users::table
                .filter(users::email.eq(&f.emails[next(&mut i)]))
                .filter(users::deleted_at.is_null())
                .select(User::as_select())
                .first::<User>(&mut bare)
                .unwrap()
        })
    });
    let by_email = client
        .prepare(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users u WHERE u.email = $1 AND u.deleted_at IS NULL"
        ))
        .unwrap();
    g.bench_function(BenchmarkId::new("postgres", size), |b| {
        b.iter(|| {
            raw::user(
                &client
                    .query_one(&by_email, &[&f.emails[next(&mut i)]])
                    .unwrap(),
                0,
            )
        })
    });
    g.finish();

    // Token to session and user: hash, then one join.
    let mut g = c.benchmark_group("session_validate");
    g.bench_function(BenchmarkId::new("saas_db", size), |b| {
        b.iter(|| pooled.sessions().validate(&f.tokens[next(&mut i)]).unwrap())
    });
    g.bench_function(BenchmarkId::new("diesel", size), |b| {
        b.iter(|| {
            let hash = Sha256::digest(f.tokens[next(&mut i)].as_bytes());
            sessions::table
                .inner_join(users::table)
                .filter(sessions::token_hash.eq(hash.as_slice()))
                .filter(sessions::revoked_at.is_null())
                .filter(sessions::expires_at.gt(now))
                .filter(users::deleted_at.is_null())
                .filter(users::banned_at.is_null().or(users::ban_expires_at.le(now)))
                .select((Session::as_select(), User::as_select()))
                .first::<(Session, User)>(&mut bare)
                .unwrap()
        })
    });
    let validate = client.prepare(raw::SESSION_VALIDATE).unwrap();
    g.bench_function(BenchmarkId::new("postgres", size), |b| {
        b.iter(|| {
            let hash = Sha256::digest(f.tokens[next(&mut i)].as_bytes());
            let row = client.query_one(&validate, &[&hash.as_slice()]).unwrap();
            let session: (uuid::Uuid, uuid::Uuid, chrono::DateTime<chrono::Utc>) =
                (row.get(0), row.get(1), row.get(2));
            let _: Option<std::net::IpAddr> = row.get(4);
            (session, raw::user(&row, 8))
        })
    });
    g.finish();
}
