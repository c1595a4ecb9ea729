//! The read-only request of the mix (`mix.rs`) and its parts, each ours
//! against the raw driver interleaved call by call (`pair.rs`), on one
//! thread: where a request's time goes. Not targets; diagnostics for the
//! one-thread mix row.
//!
//! - `request_read_interleaved`: check a connection out, validate a
//!   session, get its user, list the first page of published posts.
//! - `request_checkout_interleaved`: check a connection out and return it.
//! - `request_validate_interleaved`, `request_user_interleaved`,
//!   `request_page_interleaved`: each statement on a connection already
//!   checked out. The first two have a third side, `diesel`: the same
//!   query hand-written in Diesel on a bare `PgConnection`, which tells the
//!   crate's own cost from the driver's (Diesel over libpq against the
//!   `postgres` crate).

use std::hint::black_box;

use criterion::Criterion;
use diesel::dsl::now;
use diesel::prelude::*;
use saas_db::auth::Session;
use saas_db::schema::{sessions, users};
use saas_db::users::User;
use saas_db::{Database, PageRequest, Repos};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::fixture::{Fixture, SAMPLE};
use crate::mix::RawPool;
use crate::{pair, raw};

pub fn all(c: &mut Criterion, f: &Fixture) {
    let size = f.size.label;
    let db = Database::builder(&f.url)
        .max_size(1)
        .run_migrations(false)
        .build()
        .expect("a pool for the request");
    let pool = RawPool::new(&f.url, 1);
    let token = |n: usize| f.tokens[n % SAMPLE.min(f.tokens.len())].as_str();
    pair::interleaved(
        c,
        "request_read_interleaved",
        size,
        ("saas_db", "postgres"),
        |n| {
            let mut conn = db.conn().unwrap();
            let (session, _) = conn.sessions().validate(token(n)).unwrap();
            black_box(conn.users().get(session.user_id).unwrap());
            black_box(conn.posts().published(PageRequest::first(20)).unwrap());
        },
        |n| {
            pool.with(|c| {
                let hash = Sha256::digest(token(n).as_bytes());
                let row = c
                    .client
                    .query_one(&c.validate, &[&hash.as_slice()])
                    .unwrap();
                let user_id: Uuid = row.get(1);
                black_box(raw::user(&row, 8));
                black_box(raw::user(
                    &c.client.query_one(&c.user, &[&user_id]).unwrap(),
                    0,
                ));
                let page = c.client.query(&c.page, &[]).unwrap();
                black_box(page.iter().map(raw::post).collect::<Vec<_>>());
            })
        },
    );
    pair::interleaved(
        c,
        "request_checkout_interleaved",
        size,
        ("saas_db", "postgres"),
        |_| drop(black_box(db.conn().unwrap())),
        |_| pool.with(|c| black_box(c.client.is_closed())),
    );
    let mut conn = db.conn().unwrap();
    let mut parts = pool.take();
    let user_id = f.user_ids[0];
    let mut bare = PgConnection::establish(&f.url).unwrap();
    let bare = std::cell::RefCell::new(&mut bare);
    let parts = std::cell::RefCell::new(&mut parts);
    let conn = std::cell::RefCell::new(&mut conn);
    pair::interleaved_sides(
        c,
        "request_validate_interleaved",
        size,
        vec![
            (
                "saas_db",
                Box::new(|n| {
                    black_box(conn.borrow_mut().sessions().validate(token(n)).unwrap());
                }),
            ),
            (
                "postgres",
                Box::new(|n| {
                    let p = &mut **parts.borrow_mut();
                    let hash = Sha256::digest(token(n).as_bytes());
                    let row = p
                        .client
                        .query_one(&p.validate, &[&hash.as_slice()])
                        .unwrap();
                    black_box(raw::user(&row, 8));
                }),
            ),
            (
                "diesel",
                Box::new(|n| {
                    let hash: [u8; 32] = Sha256::digest(token(n).as_bytes()).into();
                    let found: (Session, User) = sessions::table
                        .inner_join(users::table)
                        .filter(sessions::token_hash.eq(hash.as_slice()))
                        .filter(sessions::revoked_at.is_null())
                        .filter(sessions::expires_at.gt(now))
                        .filter(
                            users::deleted_at
                                .is_null()
                                .and(users::banned_at.is_null().or(users::ban_expires_at.le(now))),
                        )
                        .select((Session::as_select(), User::as_select()))
                        .first(&mut **bare.borrow_mut())
                        .unwrap();
                    black_box(found);
                }),
            ),
        ],
    );
    pair::interleaved_sides(
        c,
        "request_user_interleaved",
        size,
        vec![
            (
                "saas_db",
                Box::new(|_| {
                    black_box(conn.borrow_mut().users().get(user_id).unwrap());
                }),
            ),
            (
                "postgres",
                Box::new(|_| {
                    let p = &mut **parts.borrow_mut();
                    let row = p.client.query_one(&p.user, &[&user_id.uuid()]).unwrap();
                    black_box(raw::user(&row, 0));
                }),
            ),
            (
                "diesel",
                Box::new(|_| {
                    let user: User = users::table
                        .filter(users::id.eq(user_id))
                        .filter(users::deleted_at.is_null())
                        .select(User::as_select())
                        .first(&mut **bare.borrow_mut())
                        .unwrap();
                    black_box(user);
                }),
            ),
        ],
    );
    pair::interleaved(
        c,
        "request_page_interleaved",
        size,
        ("saas_db", "postgres"),
        |_| {
            black_box(
                conn.borrow_mut()
                    .posts()
                    .published(PageRequest::first(20))
                    .unwrap(),
            )
        },
        |_| {
            let p = &mut **parts.borrow_mut();
            let page = p.client.query(&p.page, &[]).unwrap();
            black_box(page.iter().map(raw::post).collect::<Vec<_>>())
        },
    );
}
