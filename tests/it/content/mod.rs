//! Content: posts, listings, search, tags and categories, and loading pages
//! without N+1 queries. Shared fixtures live here.

mod checks;
mod listings;
mod loading;
mod plans;
mod posts;
mod search;
mod slugs;
mod tags;
mod view_counts;

use crate::support::{count, Count};
use chrono::{DateTime, Duration, TimeZone, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Timestamptz, Uuid as SqlUuid};
use saas_db::content::{NewPost, Post};
use saas_db::ids::{PostId, UserId};
use saas_db::users::NewUser;
use saas_db::{Page, PageRequest, Repos};

/// The most pages a test walks before it calls the listing endless.
const MAX_PAGES: usize = 1000;

/// A user to write posts.
fn author(conn: &mut PgConnection, email: &str) -> UserId {
    conn.users()
        .create(&NewUser::new(email, "Author"))
        .unwrap()
        .id
}

/// A draft by `author_id` with `title` and `content`.
fn draft(conn: &mut PgConnection, author_id: UserId, title: &str, content: &str) -> Post {
    conn.posts()
        .create(&NewPost {
            author_id,
            title: title.into(),
            content: content.into(),
            ..Default::default()
        })
        .unwrap()
}

/// `2026-01-01 + minutes`: distinct, ordered publication times.
fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + Duration::minutes(minutes)
}

/// Publishes the post and pins its publication time (listings sort by it).
fn publish_at(conn: &mut PgConnection, id: PostId, when: DateTime<Utc>) -> Post {
    conn.posts().publish(id).unwrap();
    diesel::sql_query("UPDATE posts SET published_at = $2 WHERE id = $1")
        .bind::<SqlUuid, _>(id)
        .bind::<Timestamptz, _>(when)
        .execute(conn)
        .unwrap();
    conn.posts().get(id).unwrap()
}

/// Every item of a listing, walking `next_cursor` with pages of `size`. At
/// most 1000 pages: a cursor that never advances fails instead of spinning.
fn walk<T>(size: u32, mut load: impl FnMut(PageRequest) -> saas_db::Result<Page<T>>) -> Vec<T> {
    let mut all = Vec::new();
    let mut request = PageRequest::first(size);
    for _ in 0..MAX_PAGES {
        let page = load(request).unwrap();
        assert!(page.items.len() <= size as usize);
        let next = page.next_cursor();
        all.extend(page.items);
        match next {
            Some(cursor) => request = PageRequest::after(cursor, size),
            None => return all,
        }
    }
    panic!("the listing did not end after {MAX_PAGES} pages of {size}");
}

fn ids(posts: &[Post]) -> Vec<PostId> {
    posts.iter().map(|p| p.id).collect()
}
