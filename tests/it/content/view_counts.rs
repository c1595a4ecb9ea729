//! The atomic view counter: concurrent views are all counted and are not
//! edits (version and updated_at stay), next to a control that shows a
//! read-then-write counter losing views.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Uuid as SqlUuid};
use saas_db::ids::PostId;
use saas_db::Repos;
use saas_db_testing::TestDatabase;

use super::{author, draft};
use crate::support::race;

/// The view count and the columns a view must not touch.
fn views_of(conn: &mut PgConnection, id: PostId) -> (i64, i32, chrono::DateTime<chrono::Utc>) {
    let p = conn.posts().get(id).unwrap();
    (p.view_count, p.version, p.updated_at)
}

#[test]
fn eight_threads_by_500_views_count_exactly_4000() {
    const THREADS: usize = 8;
    const VIEWS: usize = 500;
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let a = author(&mut conn, "views@example.com");
    let p = draft(&mut conn, a, "Popular", "");
    let (_, version, updated_at) = views_of(&mut conn, p.id);
    let max_seen: Vec<i64> = race(THREADS, |_, barrier| {
        let mut conn = db.conn().unwrap();
        barrier.wait();
        (0..VIEWS)
            .map(|_| conn.posts().increment_views(p.id).unwrap())
            .max()
            .unwrap()
    });
    let (views, after_version, after_updated_at) = views_of(&mut conn, p.id);
    assert_eq!(views, (THREADS * VIEWS) as i64);
    assert_eq!(max_seen.into_iter().max(), Some(views));
    // A view is not an edit.
    assert_eq!((after_version, after_updated_at), (version, updated_at));
}

#[test]
fn control_read_then_write_views_lose_counts() {
    // Reading the count and writing count + 1 in two statements loses a
    // view whenever two readers interleave; the barrier makes them.
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let a = author(&mut conn, "lost@example.com");
    let p = draft(&mut conn, a, "Lost", "");
    race(2, |_, barrier| {
        let mut conn = db.conn().unwrap();
        let seen = conn.posts().get(p.id).unwrap().view_count;
        barrier.wait();
        diesel::sql_query("UPDATE posts SET view_count = $2 WHERE id = $1")
            .bind::<SqlUuid, _>(p.id)
            .bind::<BigInt, _>(seen + 1)
            .execute(&mut conn)
            .unwrap();
    });
    assert_eq!(views_of(&mut conn, p.id).0, 1, "two views, one counted");
}
