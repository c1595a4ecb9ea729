//! Keyset pagination of the users listings: complete and ordered in both
//! directions when many rows share a sort key, cursors that survive text and
//! refuse tampering, limit bounds, role and soft-delete filtering.

mod cursors;
mod host;
mod listings;
mod walks;
mod web;

use std::collections::{BTreeMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::thread;
use std::time::Duration;

use crate::support::ids;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::prelude::*;
use saas_db::enums::UserRole;
use saas_db::ids::UserId;
use saas_db::schema::users;
use saas_db::users::{NewUser, User};
use saas_db::{Cursor, Error, Page, PageRequest, Repos};
use saas_db_testing::TestDatabase;
use sha2::{Digest, Sha256};

type Lister = fn(&mut PgConnection, PageRequest) -> saas_db::Result<Page<User>>;

/// Prints and parses a cursor, checking that nothing changes on the way.
fn round_trip(cursor: Cursor) -> Cursor {
    let text = cursor.to_string();
    assert!(
        text.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "cursor is not URL-safe: {text}"
    );
    let parsed: Cursor = text
        .parse()
        .unwrap_or_else(|e| panic!("own cursor {text} refused: {e:?}"));
    assert_eq!(parsed, cursor);
    assert_eq!(parsed.to_string(), text);
    parsed
}

/// All pages from the first on, following `next_cursor()` (through text).
/// Each page's `prev_cursor()` must lead back to the page before it.
fn walk_forward(conn: &mut PgConnection, limit: u32, list: Lister) -> Vec<Vec<User>> {
    let mut pages: Vec<Vec<User>> = Vec::new();
    let mut page = list(conn, PageRequest::first(limit)).unwrap();
    assert!(page.prev_cursor().is_none(), "first page has a prev cursor");
    loop {
        assert!(pages.len() < 10_000, "forward paging does not end");
        if let Some(prev) = page.prev_cursor() {
            let back = list(conn, PageRequest::before(round_trip(prev), limit)).unwrap();
            assert_eq!(
                ids(&back.items),
                ids(pages.last().unwrap()),
                "prev of page {}",
                pages.len()
            );
        }
        let next = page.next_cursor();
        pages.push(page.items);
        match next {
            Some(cursor) => {
                page = list(conn, PageRequest::after(round_trip(cursor), limit)).unwrap()
            }
            None => break,
        }
    }
    pages
}

/// All pages from the last back, following `prev_cursor()` (through text),
/// returned in listing order. Each page's `next_cursor()` must lead to the
/// page after it.
fn walk_backward(conn: &mut PgConnection, limit: u32, list: Lister) -> Vec<Vec<User>> {
    let mut pages: Vec<Vec<User>> = Vec::new();
    let mut page = list(conn, PageRequest::last(limit)).unwrap();
    assert!(page.next_cursor().is_none(), "last page has a next cursor");
    loop {
        assert!(pages.len() < 10_000, "backward paging does not end");
        if let Some(next) = page.next_cursor() {
            let forward = list(conn, PageRequest::after(round_trip(next), limit)).unwrap();
            assert_eq!(
                ids(&forward.items),
                ids(pages.last().unwrap()),
                "next of page -{}",
                pages.len()
            );
        }
        let prev = page.prev_cursor();
        pages.push(page.items);
        match prev {
            Some(cursor) => {
                page = list(conn, PageRequest::before(round_trip(cursor), limit)).unwrap()
            }
            None => break,
        }
    }
    pages.reverse();
    pages
}

fn list_all(conn: &mut PgConnection, page: PageRequest) -> saas_db::Result<Page<User>> {
    conn.users().list(page)
}
fn list_all_including_deleted(
    conn: &mut PgConnection,
    page: PageRequest,
) -> saas_db::Result<Page<User>> {
    conn.users().including_deleted().list(page)
}
fn list_admins(conn: &mut PgConnection, page: PageRequest) -> saas_db::Result<Page<User>> {
    conn.users().list_by_role(UserRole::Admin, page)
}
fn list_plain_users(conn: &mut PgConnection, page: PageRequest) -> saas_db::Result<Page<User>> {
    conn.users().list_by_role(UserRole::User, page)
}
fn list_admins_including_deleted(
    conn: &mut PgConnection,
    page: PageRequest,
) -> saas_db::Result<Page<User>> {
    conn.users()
        .including_deleted()
        .list_by_role(UserRole::Admin, page)
}

/// Page sizes: all `limit` except the last, which is not empty.
fn assert_page_sizes(pages: &[Vec<User>], limit: usize, total: usize) {
    assert_eq!(pages.len(), total.div_ceil(limit), "number of pages");
    for (i, page) in pages.iter().enumerate() {
        if i + 1 < pages.len() {
            assert_eq!(page.len(), limit, "page {i}");
        } else {
            assert_eq!(page.len(), total - limit * i, "last page");
        }
    }
}

/// The ids in listing order, straight from SQL.
fn expected_order(
    conn: &mut PgConnection,
    role: Option<UserRole>,
    include_deleted: bool,
) -> Vec<UserId> {
    let mut query = users::table
        .select(users::id)
        .order((users::created_at.asc(), users::id.asc()))
        .into_boxed();
    if let Some(role) = role {
        query = query.filter(users::role.eq(role));
    }
    if !include_deleted {
        query = query.filter(users::deleted_at.is_null());
    }
    query.load(conn).unwrap()
}

/// Creates `n` users one statement at a time (so each has its own
/// `created_at`); user `j` is an admin when `admin(j)`.
fn create_users(conn: &mut PgConnection, n: usize, admin: impl Fn(usize) -> bool) -> Vec<User> {
    (0..n)
        .map(|j| {
            let email = format!("user{j:04}@example.com");
            let role = if admin(j) {
                UserRole::Admin
            } else {
                UserRole::User
            };
            conn.users()
                .create(&NewUser::new(&email, "User").role(role))
                .unwrap()
        })
        .collect()
}
